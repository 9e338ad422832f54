import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from './redis';
import { DomainError, JobMap, RpcReply } from '@cap/contracts';

export interface RpcClientOptions {
  queue: string;
  prefix: string;
  redisUrl: string;
  /** Deadline of a call; past it the caller gets `503 upstream_timeout`. */
  timeoutMs: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/reply over a BullMQ queue. One `QueueEvents` listener settles every pending call by
 * job id, so calls in flight cost no listener each and never race job removal.
 */
export class RpcClient<J extends JobMap> {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly connection: Redis;
  /** QueueEvents blocks on its connection (XREAD): it gets one of its own. */
  private readonly eventsConnection: Redis;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: RpcClientOptions) {
    this.connection = createRedis(options.redisUrl);
    this.queue = new Queue(options.queue, { connection: this.connection, prefix: options.prefix });
    this.queue.on('error', () => undefined);
    this.eventsConnection = createRedis(options.redisUrl);
    this.events = new QueueEvents(options.queue, {
      connection: this.eventsConnection,
      prefix: options.prefix,
      // Read from a few seconds back, not from "now" ('$'): a reply that lands between
      // `ready()` and the listener's first read is still seen. Unknown job ids are ignored.
      lastEventId: `${Date.now() - 5_000}-0`,
    });
    this.events.on('error', () => undefined);
    this.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) =>
      this.settle(
        jobId,
        undefined,
        new DomainError('internal_error', 'The request failed.', {
          cause: new Error(failedReason),
        }),
      ),
    );
  }

  /** Resolves once the event listener is subscribed: calls made before could miss replies. */
  async ready(): Promise<void> {
    await Promise.all([this.events.waitUntilReady(), this.queue.waitUntilReady()]);
  }

  /**
   * Runs `name` on the service behind the queue and returns its result, or throws the
   * `DomainError` it answered with, or `upstream_timeout` past the deadline.
   */
  async call<K extends keyof J & string>(
    name: K,
    payload: J[K]['req'],
    options: { timeoutMs?: number } = {},
  ): Promise<J[K]['res']> {
    const jobId = randomUUID();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(jobId);
        // Best effort: a job nobody picked up must not run after its caller gave up.
        this.queue.remove(jobId).catch(() => undefined);
        reject(
          new DomainError('upstream_timeout', 'The service did not answer in time. Try again.'),
        );
      }, timeoutMs);
      this.pending.set(jobId, { resolve, reject, timer });
    });
    // The add is not awaited before the reply: the deadline covers it too, and a rejection
    // of either settles the one pending entry.
    void this.queue
      .add(name, payload, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true })
      .then(
        // Added after the caller gave up: take it back so nobody runs it.
        () => (this.pending.has(jobId) ? undefined : this.queue.remove(jobId).catch(() => 0)),
        (err: unknown) =>
          this.settle(
            jobId,
            undefined,
            new DomainError('service_unavailable', 'The platform is temporarily unavailable.', {
              cause: err,
            }),
          ),
      );
    const result = (await reply) as RpcReply<J[K]['res']>;
    if (!result || typeof result !== 'object' || !('ok' in result)) {
      throw new DomainError('internal_error', 'The service answered with an unexpected reply.');
    }
    if (!result.ok) throw DomainError.fromShape(result.error);
    return result.data;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private settle(jobId: string, value: unknown, error?: unknown): void {
    const entry = this.pending.get(jobId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(jobId);
    if (error) entry.reject(error);
    else entry.resolve(value);
  }

  async close(): Promise<void> {
    for (const [, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new DomainError('service_unavailable', 'Shutting down.'));
    }
    this.pending.clear();
    // A graceful close waits on Redis; when Redis is away that would be forever.
    const graceful = Promise.allSettled([this.events.close(), this.queue.close()]);
    await Promise.race([graceful, new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.connection.disconnect();
    this.eventsConnection.disconnect();
  }
}
