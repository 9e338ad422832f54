import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '../config';
import { clientIp } from '../pages/page-response';
import { OAUTH_ROUTES } from './oidc-configuration';
import { OidcProviderService } from './oidc-provider.service';
import { claimedClientId, TokenThrottle } from './token-throttle';
import { CLAIMED_CLIENT, CLIENT_ADDRESS, TokenRequestMessage } from './tokens';

/** oidc-provider's own limit on a request body. */
const TOKEN_FORM_LIMIT = 56 * 1024;

/**
 * Mounts oidc-provider on the app's Fastify instance: `/oauth/*` and `/.well-known/*` go to it
 * untouched, below Nest. oidc-provider reads the request body itself (but for the token
 * endpoint's form, read here first to find the client's budget: TokenThrottle) and writes its own
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
    private readonly throttle: TokenThrottle,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    await fastify.register(formbody, { bodyLimit: 64 * 1024 });
    // The token endpoint reads its form here, to find the client whose budget it spends, and
    // hands the text to oidc-provider (which uses an already-read body as its own).
    await fastify.register(async (token) => {
      token.removeAllContentTypeParsers();
      token.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: TOKEN_FORM_LIMIT },
        (_req, body, done) => done(null, body),
      );
      token.addContentTypeParser('*', (_req, _payload, done) => done(null));
      token.post(OAUTH_ROUTES.token, (req, reply) => this.token(req, reply));
    });
    await fastify.register(async (protocol) => {
      protocol.removeAllContentTypeParsers();
      // Leaves the body unread for oidc-provider, which limits its size itself.
      protocol.addContentTypeParser('*', (_req, _payload, done) => done(null));
      const handler = (req: FastifyRequest, reply: FastifyReply) => this.handOver(req, reply);
      protocol.all('/oauth/*', handler);
      protocol.all('/.well-known/*', handler);
    });
  }

  private async token(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const form = typeof req.body === 'string' ? req.body : undefined;
    const ip = clientIp(req);
    // Requests that name no client have a budget too: the one of '' at their address.
    const clientId = claimedClientId(req.headers.authorization, form) ?? '';
    let wait: number;
    try {
      wait = await this.throttle.retryAfter(clientId, ip);
    } catch (err) {
      // Fail closed: a budget that cannot be read is not an unlimited one.
      this.logger.warn({ err, request_id: req.id }, 'token budget not checked');
      await reply.code(503).header('retry-after', '5').header('cache-control', 'no-store').send({
        error: 'temporarily_unavailable',
        error_description: 'The authorization server cannot take token requests now. Try again.',
      });
      return;
    }
    if (wait > 0) {
      await reply
        .code(429)
        .header('retry-after', String(wait))
        .header('cache-control', 'no-store')
        .send({
          error: 'slow_down',
          error_description: `Too many token requests for this client. Retry after ${wait} s.`,
        });
      return;
    }
    const raw = req.raw as TokenRequestMessage;
    if (form !== undefined) raw.body = form;
    raw[CLAIMED_CLIENT] = clientId;
    await this.handOver(req, reply);
  }

  private async handOver(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    reply.hijack();
    // oidc-provider's own idea of the address (Koa's, from the left of X-Forwarded-For) is
    // replaced by Fastify's, which honours TRUST_PROXY (OidcProviderService reads it).
    (req.raw as TokenRequestMessage)[CLIENT_ADDRESS] = clientIp(req);
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
