import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { newId, QUEUES, requestsIn, usageBatchSchema } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { bullQueueName, createRedis, RedisClient, redisTarget } from '@cap/queue';
import { CONFIG, LOGGER, UsageWorkerConfig } from '../config';
import { UsageRepository } from '../usage.repository';

/**
 * Consumes usage batches. A malformed batch is dead-lettered with its reason and the rest keep
 * flowing; a database error fails the job, which BullMQ retries (the batch id makes the retry
 * safe). A worker killed mid-batch leaves its transaction uncommitted: the stalled job is
 * picked up again and counted once.
 */
@Injectable()
export class UsageBatchProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker?: Worker;
  private queue?: Queue;
  private connection?: RedisClient;
  private countsConnection?: RedisClient;
  private pruner?: NodeJS.Timeout;
  private readonly batches: Counter<'outcome'>;
  private readonly requests: Counter;

  constructor(
    @Inject(CONFIG) private readonly config: UsageWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly usage: UsageRepository,
    metrics: Metrics,
  ) {
    this.batches = metrics.counter({
      name: 'usage_batches_total',
      help: 'Usage batches taken from the queue, by outcome (counted, duplicate, dead_lettered, failed).',
      labelNames: ['outcome'],
    });
    this.requests = metrics.counter({
      name: 'usage_requests_counted_total',
      help: 'Requests counted into the rollups (each batch once, however often it is delivered).',
    });
    const depth = metrics.gauge({
      name: 'usage_queue_jobs',
      help: 'Usage batches in the queue, by state (read when scraped; absent while Redis is away).',
      labelNames: ['state'],
      collect: async () => {
        depth.reset();
        const counts = await this.queue
          ?.getJobCounts('waiting', 'active', 'delayed', 'failed')
          .catch(() => undefined);
        for (const [state, n] of Object.entries(counts ?? {})) depth.set({ state }, n);
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const target = redisTarget(this.config);
    this.connection = createRedis(target);
    this.worker = new Worker(bullQueueName(QUEUES.usage), (job) => this.process(job), {
      connection: this.connection,
      prefix: this.config.QUEUE_PREFIX,
      concurrency: this.config.USAGE_CONCURRENCY,
      stalledInterval: 5_000,
    });
    this.worker.on('error', (err) => this.logger.warn({ err }, 'usage worker error'));
    this.worker.on('failed', (job, err) => {
      this.batches.inc({ outcome: 'failed' });
      this.logger.warn({ err, job: job?.id }, 'usage batch failed; it will be retried');
    });
    await this.worker.waitUntilReady();
    // Counts fail at once while Redis is away, instead of stalling the whole scrape.
    this.countsConnection = createRedis(target, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    this.queue = new Queue(bullQueueName(QUEUES.usage), {
      connection: this.countsConnection,
      prefix: this.config.QUEUE_PREFIX,
    });
    this.queue.on('error', () => undefined);
    this.pruner = setInterval(() => {
      this.usage.pruneBatches(7).catch((err: unknown) => this.logger.warn({ err }, 'prune failed'));
    }, 3_600_000).unref();
  }

  async process(job: Job): Promise<void> {
    const parsed = usageBatchSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const reason = `${issue?.path.join('.') || '(batch)'}: ${issue?.message ?? 'invalid'}`;
      await this.usage.deadLetter(newId('deadLetter'), job.id ?? null, reason, job.data);
      this.logger.warn({ job: job.id, reason }, 'usage batch dead-lettered');
      this.batches.inc({ outcome: 'dead_lettered' });
      return;
    }
    const counted = await this.usage.ingest(parsed.data);
    this.batches.inc({ outcome: counted ? 'counted' : 'duplicate' });
    if (counted) this.requests.inc(requestsIn(parsed.data.rows));
  }

  get running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pruner);
    await this.worker?.close();
    await this.queue?.close();
    this.connection?.disconnect();
    this.countsConnection?.disconnect();
  }
}
