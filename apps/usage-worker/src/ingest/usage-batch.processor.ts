import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { newId, QUEUES, usageBatchSchema } from '@cap/contracts';
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
  private pruner?: NodeJS.Timeout;

  constructor(
    @Inject(CONFIG) private readonly config: UsageWorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly usage: UsageRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.worker = new Worker(QUEUES.usage, (job) => this.process(job), {
      connection: { url: this.config.REDIS_URL, maxRetriesPerRequest: null },
      prefix: this.config.QUEUE_PREFIX,
      concurrency: this.config.USAGE_CONCURRENCY,
      stalledInterval: 5_000,
    });
    this.worker.on('error', (err) => this.logger.warn({ err }, 'usage worker error'));
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ err, job: job?.id }, 'usage batch failed; it will be retried'),
    );
    await this.worker.waitUntilReady();
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
      return;
    }
    await this.usage.ingest(parsed.data);
  }

  get running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pruner);
    await this.worker?.close();
  }
}
