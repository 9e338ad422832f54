import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from '@cap/auth';
import { QUEUES } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { bullQueueName, createRedis, RedisClient, redisTarget } from '@cap/queue';
import { CONFIG, GatewayConfig, LOGGER } from '../config';
import { UsageBatcher } from './usage-batcher';

type Fields = Record<string, unknown> | undefined;

/**
 * The project a request counts for: an API key's own project; for an OAuth token, the project
 * the request acted on (path, query or body), when it succeeded on one.
 */
function projectOf(req: FastifyRequest, principal: Principal, status: number): string | undefined {
  if (principal.kind === 'api_key') return principal.project_id;
  if (status >= 400) return undefined;
  return (
    projectId((req.params as Fields)?.id) ??
    projectId((req.query as Fields)?.project_id) ??
    projectId((req.body as Fields)?.project_id)
  );
}

function projectId(value: unknown): string | undefined {
  return typeof value === 'string' && value.startsWith('prj_') ? value : undefined;
}

/** Counts authenticated `/v1` requests once their responses are done (see DataPlane). */
@Injectable()
export class UsageMeter implements OnApplicationShutdown {
  private readonly batcher: UsageBatcher;
  private readonly queue: Queue;
  private readonly connection: RedisClient;

  constructor(
    @Inject(CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: Metrics,
  ) {
    this.connection = createRedis(redisTarget(config), {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    this.queue = new Queue(bullQueueName(QUEUES.usage), {
      connection: this.connection,
      prefix: config.QUEUE_PREFIX,
    });
    this.queue.on('error', () => undefined);
    const batches = metrics.counter({
      name: 'gateway_usage_batches_total',
      help: 'Attempts to queue a usage batch, by outcome (queued, failed: retried as it was).',
      labelNames: ['outcome'],
    });
    const requests = metrics.counter({
      name: 'gateway_usage_requests_queued_total',
      help: 'Requests counted by this gateway and queued for the usage-worker.',
    });
    this.batcher = new UsageBatcher(this.queue, {
      flushIntervalMs: config.USAGE_FLUSH_MS,
      onError: (err) => this.logger.warn({ err }, 'usage batch not queued yet; will retry'),
      onFlush: (outcome, n) => {
        batches.inc({ outcome });
        if (outcome === 'queued') requests.inc(n);
      },
    });
    const meter = this.batcher;
    metrics.gauge({
      name: 'gateway_usage_requests_unsent',
      help: 'Requests counted by this gateway and not queued yet (lost if it is killed now).',
      collect() {
        this.set(meter.pending);
      },
    });
  }

  /** One finished request of `principal` to `endpoint` (`GET /v1/projects/:id`). */
  record(req: FastifyRequest, principal: Principal, status: number, endpoint: string): void {
    const project = projectOf(req, principal, status);
    if (!project) return;
    const counted = principal.kind === 'api_key' ? principal.key_id : principal.client_id;
    this.batcher.record(project, counted, endpoint, status);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.batcher.close();
    await this.queue.close();
    this.connection.disconnect();
  }
}
