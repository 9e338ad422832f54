import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '../config';
import { OidcProviderService } from './oidc-provider.service';

/**
 * Mounts oidc-provider on the app's Fastify instance: `/oauth/*` and `/.well-known/*` go to it
 * untouched, below Nest. oidc-provider reads the request body itself and writes its own
 * responses (RFC 6749 error objects, `Cache-Control: no-store` on tokens), so these routes live
 * in a Fastify context with no body parser, and the reply is hijacked: neither Fastify's
 * serialisation nor the platform's `/v1` error filter ever touches them.
 *
 * The pages (sign-in, consent, sign-up) are Nest controllers; they get HTML form bodies through
 * @fastify/formbody, registered for the rest of the app.
 */
@Injectable()
export class OAuthRoutes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly oidc: OidcProviderService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    await fastify.register(formbody, { bodyLimit: 64 * 1024 });
    await fastify.register(async (protocol) => {
      protocol.removeAllContentTypeParsers();
      // Leaves the body unread for oidc-provider, which limits its size itself.
      protocol.addContentTypeParser('*', (_req, _payload, done) => done(null));
      const handler = (req: FastifyRequest, reply: FastifyReply) => this.handOver(req, reply);
      protocol.all('/oauth/*', handler);
      protocol.all('/.well-known/*', handler);
    });
  }

  private async handOver(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack();
    // Set by the platform's onRequest hook on the reply, which a hijacked reply never sends.
    reply.raw.setHeader('Request-Id', String(req.id));
    try {
      await this.oidc.handle(req.raw, reply.raw);
    } catch (err) {
      // oidc-provider answers its own errors; this is only for a provider that is not there.
      this.logger.error({ err, request_id: req.id }, 'oauth request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(503, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
        });
      }
      reply.raw.end(
        JSON.stringify({
          error: 'temporarily_unavailable',
          error_description: 'The authorization server is not ready. Try again.',
        }),
      );
    }
  }
}
