import type { RedisEnv } from '@cap/config';
import {
  DomainError,
  isAdminJob,
  isAdminQueue,
  JobMap,
  randomBase62,
  RpcReply,
} from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { createRedis, RedisClient, redisTarget, RedisTarget } from './redis';
import {
  callJobId,
  REPLY_FIELD,
  REPLY_TTL_MS,
  ReplyMessage,
  replyKey,
  RequestFields,
  requestKey,
  RPC_GROUP,
} from './rpc-replies';

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

/** How long one blocking read waits before it is issued again (and `close` is noticed). */
const READ_WAIT_MS = 1_000;
/** Housekeeping: clock offset, entries of dead servers, consumers long gone. */
const SWEEP_EVERY_MS = 10_000;
/** An entry a server read and never acknowledged for this long is past any deadline. */
const ABANDONED_AFTER_MS = 60_000;
/** A consumer (server process) idle this long with nothing pending is removed from the group. */
const CONSUMER_GONE_AFTER_MS = 3_600_000;
/** A reply stream's TTL is renewed by a server at most this often. */
const RENEW_TTL_EVERY_MS = REPLY_TTL_MS / 4;

const INTERNAL: RpcReply<never> = {
  ok: false,
  error: { code: 'internal_error', message: 'An internal error occurred.' },
};

type StreamRead = Array<[string, Array<[string, string[]]>]> | null;

/** The milliseconds of a stream entry id (`<ms>-<seq>`), Redis's clock. */
const entryMs = (id: string): number => Number(id.slice(0, id.indexOf('-')));

function fieldsOf(raw: string[]): Partial<RequestFields> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]] = raw[i + 1];
  return fields;
}

/**
 * Serves the calls of one queue from its request stream (`rpc-replies.ts`), as one consumer of
 * the queue's group, at most `concurrency` at a time. Domain errors are returned as values;
 * anything else becomes `internal_error` with no detail crossing the queue. Each reply goes to
 * the caller's reply stream, then the entry is acknowledged. A call read past its deadline is
 * dropped unrun. As a Nest provider (an app's subclass), it starts with the app and, when the
 * app stops, stops reading and finishes the calls it is running.
 */
export class RpcServer<J extends JobMap> {
  private reader?: RedisClient;
  private writer?: RedisClient;
  private readonly consumer = randomBase62(12);
  private readonly key: string;
  private stopping = false;
  private loop?: Promise<void>;
  private sweeper?: NodeJS.Timeout;
  private readonly running_ = new Set<Promise<void>>();
  private wake?: () => void;
  /** Redis's clock minus ours, so deadlines are read on the clock that stamped the entries. */
  private clockOffsetMs = 0;
  private readonly ttlRenewedAt = new Map<string, number>();
  private readonly observe?: (job: string, outcome: Outcome, seconds: number) => void;
  private readonly expired?: () => void;

  constructor(
    private readonly options: RpcServerOptions,
    private readonly handlers: RpcHandlers<J>,
  ) {
    this.key = requestKey(options.prefix, options.queue);
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
    const expired = options.metrics?.counter({
      name: 'rpc_jobs_expired_total',
      help: 'Calls read past their deadline (their caller had given up) and dropped unrun.',
      labelNames: ['queue'],
    });
    if (expired) this.expired = () => expired.inc({ queue: options.queue });
  }

  async start(): Promise<void> {
    this.reader = createRedis(this.options.redisUrl, {
      connectionName: `rpc-server-${this.options.queue}-${this.consumer}`,
      // A blocked read is answered at least every READ_WAIT_MS: silence for longer means a dead
      // (half-open) socket, which is dropped and reconnected.
      socketTimeout: READ_WAIT_MS * 5,
    });
    this.writer = createRedis(this.options.redisUrl);
    await this.ensureGroup();
    await this.syncClock();
    this.loop = this.serve();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  /** The queue's consumer group (and stream), made if missing (a first start, a wiped Redis). */
  private async ensureGroup(): Promise<void> {
    try {
      await this.writer!.xgroup('CREATE', this.key, RPC_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
  }

  private async syncClock(): Promise<void> {
    const before = Date.now();
    const [seconds, micros] = await this.writer!.time();
    const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    this.clockOffsetMs = redisMs - (before + Date.now()) / 2;
  }

  /** Reads and runs calls until closed, never more than `concurrency` at once. */
  private async serve(): Promise<void> {
    const concurrency = this.options.concurrency ?? 16;
    while (!this.stopping) {
      const free = concurrency - this.running_.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      let read: StreamRead;
      try {
        read = (await this.reader!.xreadgroup(
          'GROUP',
          RPC_GROUP,
          this.consumer,
          'COUNT',
          free,
          'BLOCK',
          READ_WAIT_MS,
          'STREAMS',
          this.key,
          '>',
        )) as StreamRead;
      } catch (err) {
        if (this.stopping) return;
        // Redis restarted without its data: the group is made again, and reading goes on.
        if (String(err).includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      for (const [entryId, raw] of read?.[0]?.[1] ?? []) this.run(entryId, fieldsOf(raw));
    }
  }

  private run(entryId: string, fields: Partial<RequestFields>): void {
    const { n: name, p: payload, c: caller, i: callId, t: timeout } = fields;
    if (!name || payload === undefined || !caller || !callId) {
      // Not a call this server can answer anyone about.
      void this.ack(entryId);
      return;
    }
    const id = callJobId(caller, callId);
    const deadline = entryMs(entryId) + Number(timeout ?? 0);
    if (!(Date.now() + this.clockOffsetMs <= deadline)) {
      this.expired?.();
      void this.ack(entryId);
      return;
    }
    const task = (async () => {
      const started = performance.now();
      let reply: RpcReply<unknown>;
      try {
        reply = await this.handle(name, JSON.parse(payload) as unknown, id);
      } catch (err) {
        this.options.onUnexpectedError?.(err, { name, id });
        reply = INTERNAL;
      }
      const outcome: Outcome = reply.ok
        ? 'ok'
        : reply.error.code === 'internal_error'
          ? 'internal_error'
          : 'domain_error';
      this.observe?.(name, outcome, (performance.now() - started) / 1000);
      await Promise.all([this.reply(caller, id, reply), this.ack(entryId)]);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.running_.delete(task);
        this.wake?.();
        this.wake = undefined;
      });
    this.running_.add(task);
  }

  private ack(entryId: string): Promise<unknown> {
    return this.writer!.xack(this.key, RPC_GROUP, entryId).catch(() => undefined);
  }

  /** Appends `reply` to the stream of the client that made call `id`. */
  private async reply(caller: string, id: string, reply: RpcReply<unknown>): Promise<void> {
    const key = replyKey(this.options.prefix, caller);
    const message: ReplyMessage = { id, reply };
    const appended = this.writer!.xadd(key, '*', REPLY_FIELD, JSON.stringify(message));
    // The stream outlives its client by REPLY_TTL_MS; renewed now and then, not per reply.
    const now = Date.now();
    if (now - (this.ttlRenewedAt.get(key) ?? 0) >= RENEW_TTL_EVERY_MS) {
      this.ttlRenewedAt.set(key, now);
      if (this.ttlRenewedAt.size > 10_000) this.ttlRenewedAt.clear();
      void this.writer!.pexpire(key, REPLY_TTL_MS).catch(() => this.ttlRenewedAt.delete(key));
    }
    await appended;
  }

  /**
   * Clears what servers that died left unacknowledged (never run again: far past any deadline),
   * removes consumers long gone, and re-reads the clock offset.
   */
  private async sweep(): Promise<void> {
    const writer = this.writer!;
    try {
      await this.syncClock();
      let cursor = '0-0';
      for (let round = 0; round < 10; round++) {
        const [next, claimed] = (await writer.xautoclaim(
          this.key,
          RPC_GROUP,
          this.consumer,
          ABANDONED_AFTER_MS,
          cursor,
          'COUNT',
          100,
          'JUSTID',
        )) as [string, string[]];
        if (claimed.length) await writer.xack(this.key, RPC_GROUP, ...claimed);
        if (next === '0-0') break;
        cursor = next;
      }
      const consumers = (await writer.xinfo('CONSUMERS', this.key, RPC_GROUP)) as unknown[][];
      for (const entry of consumers) {
        const info: Record<string, unknown> = {};
        for (let i = 0; i + 1 < entry.length; i += 2) info[String(entry[i])] = entry[i + 1];
        if (
          info.name !== this.consumer &&
          Number(info.pending) === 0 &&
          Number(info.idle) > CONSUMER_GONE_AFTER_MS
        ) {
          await writer.xgroup('DELCONSUMER', this.key, RPC_GROUP, String(info.name));
        }
      }
    } catch {
      // Redis away: the next sweep tries again.
    }
  }

  private async handle(name: string, payload: unknown, id: string): Promise<RpcReply<unknown>> {
    // Operator jobs on the operator's queues only, whatever a handler map says: a producer that
    // may write a public queue (the gateway) never gets an `admin.` job served.
    if (isAdminJob(name) !== isAdminQueue(this.options.queue)) {
      return {
        ok: false,
        error: {
          code: 'forbidden',
          message: `Job ${name} is not served on the ${this.options.queue} queue.`,
        },
      };
    }
    const handler = (
      this.handlers as Record<string, ((p: unknown) => Promise<unknown>) | undefined>
    )[name];
    if (!handler) {
      return { ok: false, error: { code: 'internal_error', message: `Unknown job ${name}.` } };
    }
    try {
      return { ok: true, data: await handler(payload) };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, error: err.toShape() };
      this.options.onUnexpectedError?.(err, { name, id });
      return INTERNAL;
    }
  }

  get running(): boolean {
    return this.loop !== undefined && !this.stopping;
  }

  /** Stops reading (within READ_WAIT_MS) and waits for the calls it is running to finish. */
  async close(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    this.wake?.();
    // The read in flight returns within READ_WAIT_MS; what it brings is run too, not stranded.
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, READ_WAIT_MS * 3).unref())]);
    await Promise.allSettled([...this.running_]);
    this.reader?.disconnect();
    this.writer?.disconnect();
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
