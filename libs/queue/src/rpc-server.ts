import { Job, Worker } from 'bullmq';
import type { RedisEnv } from '@cap/config';
import { DomainError, isAdminJob, isAdminQueue, JobMap, RpcReply } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import {
  bullQueueName,
  createRedis,
  execOrThrow,
  RedisClient,
  redisTarget,
  RedisTarget,
} from './redis';
import { callerOf, REPLY_FIELD, REPLY_TTL_MS, ReplyMessage, replyKey } from './rpc-replies';

/** A handler for each job of a map. */
export type RpcHandlers<J extends JobMap> = {
  [K in keyof J & string]: (payload: J[K]['req']) => Promise<J[K]['res']>;
};

export interface RpcServerOptions {
  queue: string;
  prefix: string;
  /** Where Redis is: a URL, or a target from `redisTarget` (Sentinel, Cluster). */
  redisUrl: RedisTarget;
  concurrency?: number;
  /** Called with every error that is not a `DomainError` (it becomes `internal_error`). */
  onUnexpectedError?: (err: unknown, job: { name: string; id?: string }) => void;
  /** Where each job's handling time and outcome are recorded. */
  metrics?: Metrics;
}

type Outcome = 'ok' | 'domain_error' | 'internal_error';

/** The options every app derives from its config: queue prefix, Redis, an error logger. */
export function rpcServerOptions(
  queue: string,
  config: { QUEUE_PREFIX: string } & RedisEnv,
  logger: { error: (obj: object, msg: string) => void },
  metrics: Metrics,
  concurrency?: number,
): RpcServerOptions {
  return {
    queue,
    prefix: config.QUEUE_PREFIX,
    redisUrl: redisTarget(config),
    concurrency,
    onUnexpectedError: (err, job) => logger.error({ err, job }, 'job failed'),
    metrics,
  };
}

/**
 * Serves the jobs of one queue. Domain errors are returned as values so that BullMQ neither
 * retries them nor logs them as failures; anything else becomes `internal_error` with no
 * detail crossing the queue. Each reply goes to the caller's reply stream (`rpc-replies.ts`)
 * before the job completes. As a Nest provider (an app's subclass), it starts with the app
 * and finishes its running jobs when the app stops.
 */
export class RpcServer<J extends JobMap> {
  private worker?: Worker;
  private replies?: RedisClient;
  private connection?: RedisClient;
  private readonly observe?: (job: string, outcome: Outcome, seconds: number) => void;

  constructor(
    private readonly options: RpcServerOptions,
    private readonly handlers: RpcHandlers<J>,
  ) {
    const histogram = options.metrics?.histogram({
      name: 'rpc_job_duration_seconds',
      help: 'Time to handle a job of a queue this app serves, by job name and outcome.',
      labelNames: ['queue', 'job', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    if (histogram) {
      this.observe = (job, outcome, seconds) =>
        histogram.observe({ queue: options.queue, job, outcome }, seconds);
    }
  }

  async start(): Promise<void> {
    this.replies = createRedis(this.options.redisUrl);
    // BullMQ duplicates it for its blocking reads, and closes only those.
    this.connection = createRedis(this.options.redisUrl);
    this.worker = new Worker(bullQueueName(this.options.queue), (job: Job) => this.dispatch(job), {
      connection: this.connection,
      prefix: this.options.prefix,
      concurrency: this.options.concurrency ?? 16,
    });
    this.worker.on('error', () => undefined);
    // A job that failed outside `dispatch`'s answer (BullMQ gave up on it after it stalled too
    // often, or the answer could not be sent): its caller is told now, not at its deadline.
    this.worker.on('failed', (job) => {
      const caller = callerOf(job?.id);
      if (!job || !caller) return;
      const failed: RpcReply<never> = {
        ok: false,
        error: { code: 'internal_error', message: 'An internal error occurred.' },
      };
      this.reply(caller, job.id!, failed).catch(() => undefined);
    });
    await this.worker.waitUntilReady();
  }

  /**
   * Handles a job and delivers its reply. The job's own return value stays empty when the reply
   * went to a reply stream (the queue's event stream then carries no payload); a caller that
   * does not name itself in the job id gets the reply as the return value, as before.
   */
  private async dispatch(job: Job): Promise<RpcReply<unknown> | null> {
    const started = performance.now();
    const reply = await this.handle(job);
    const outcome: Outcome = reply.ok
      ? 'ok'
      : reply.error.code === 'internal_error'
        ? 'internal_error'
        : 'domain_error';
    this.observe?.(job.name, outcome, (performance.now() - started) / 1000);
    const caller = callerOf(job.id);
    if (!caller) return reply;
    await this.reply(caller, job.id!, reply);
    return null;
  }

  /** Appends `reply` to the stream of the client that made job `id`. */
  private async reply(caller: string, id: string, reply: RpcReply<unknown>): Promise<void> {
    const key = replyKey(this.options.prefix, caller);
    const message: ReplyMessage = { id, reply };
    await execOrThrow(
      this.replies!.multi()
        .xadd(key, '*', REPLY_FIELD, JSON.stringify(message))
        .pexpire(key, REPLY_TTL_MS),
    );
  }

  private async handle(job: Job): Promise<RpcReply<unknown>> {
    // Operator jobs on the operator's queues only, whatever a handler map says: a producer that
    // may write a public queue (the gateway) never gets an `admin.` job served.
    if (isAdminJob(job.name) !== isAdminQueue(this.options.queue)) {
      return {
        ok: false,
        error: {
          code: 'forbidden',
          message: `Job ${job.name} is not served on the ${this.options.queue} queue.`,
        },
      };
    }
    const handler = (
      this.handlers as Record<string, ((p: unknown) => Promise<unknown>) | undefined>
    )[job.name];
    if (!handler) {
      return { ok: false, error: { code: 'internal_error', message: `Unknown job ${job.name}.` } };
    }
    try {
      return { ok: true, data: await handler(job.data) };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, error: err.toShape() };
      this.options.onUnexpectedError?.(err, { name: job.name, id: job.id });
      return {
        ok: false,
        error: { code: 'internal_error', message: 'An internal error occurred.' },
      };
    }
  }

  get running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  /** Stops taking jobs and waits for the running ones to finish. */
  async close(): Promise<void> {
    await this.worker?.close();
    this.replies?.disconnect();
    this.connection?.disconnect();
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
