import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from '@cap/auth';
import { QUEUES } from '@cap/contracts';
import { CONFIG, GatewayConfig, LOGGER } from '../config';
import { isApiRoute } from '../routes';
import { UsageMeter } from './usage-meter';

type MeteredRequest = FastifyRequest & { user?: Principal };
type Fields = Record<string, unknown> | undefined;

/**
 * The project a request counts for: an API key's own project; for an OAuth token, the project
 * the request acted on (path, query or body), when it succeeded on one.
 */
function projectOf(req: MeteredRequest, status: number): string | undefined {
  const principal = req.user;
  if (!principal) return undefined;
  if (principal.kind === 'api_key') return principal.project_id;
  if (status >= 400) return undefined;
  const candidates = [
    req.routeOptions.url?.startsWith('/v1/projects/:id') ? (req.params as Fields)?.id : undefined,
    (req.query as Fields)?.project_id,
    (req.body as Fields)?.project_id,
  ];
  return candidates.find((c): c is string => typeof c === 'string' && c.startsWith('prj_'));
}

/** Meters every authenticated `/v1` request when its response is done. */
@Injectable()
export class UsageMetering implements OnModuleInit, OnApplicationShutdown {
  readonly meter: UsageMeter;
  private readonly queue: Queue;

  constructor(
    @Inject(CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.queue = new Queue(QUEUES.usage, {
      connection: { url: config.REDIS_URL, maxRetriesPerRequest: 1, enableOfflineQueue: false },
      prefix: config.QUEUE_PREFIX,
    });
    this.queue.on('error', () => undefined);
    this.meter = new UsageMeter(this.queue, {
      flushIntervalMs: config.USAGE_FLUSH_MS,
      onError: (err) => this.logger.warn({ err }, 'usage batch not queued yet; will retry'),
    });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const req = request as MeteredRequest;
      if (req.user && isApiRoute(req)) {
        const project = projectOf(req, reply.statusCode);
        const principal = req.user.kind === 'api_key' ? req.user.key_id : req.user.client_id;
        if (project) {
          this.meter.record(
            project,
            principal,
            `${req.method} ${req.routeOptions.url ?? 'unmatched'}`,
            reply.statusCode,
          );
        }
      }
      done();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.meter.close();
    await this.queue.close();
  }
}
