import { DomainError, JobMap, randomBase62, RpcReply } from '@cap/contracts';
import { createRedis, RedisClient, RedisTarget } from './redis';
import {
  callJobId,
  REPLY_FIELD,
  ReplyMessage,
  replyKey,
  REQUEST_RETENTION_MS,
  requestKey,
} from './rpc-replies';

export interface RpcClientOptions {
  queue: string;
  prefix: string;
  /** Where Redis is: a URL, or a target from `redisTarget` (Sentinel, Cluster). */
  redisUrl: RedisTarget;
  /** Deadline of a call; past it the caller gets `503 upstream_timeout`. */
  timeoutMs: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

/** Replies taken from the stream in one read, at most. */
const REPLY_BATCH = 256;
/** How long one blocking read waits before it is issued again. */
const REPLY_WAIT_MS = 1_000;

/**
 * Request/reply over Redis streams (`rpc-replies.ts`). A call is one `XADD` to the queue's
 * request stream naming this client and the call's deadline; the server appends the reply to
 * this client's own reply stream, read by one blocking loop that settles pending calls by id. So
 * a call costs no listener of its own, no reply is lost to a reconnect, and no client reads
 * replies meant for another.
 */
export class RpcClient<J extends JobMap> {
  private readonly id = randomBase62(16);
  private readonly requests: string;
  private readonly connection: RedisClient;
  /** The reply loop blocks on its connection (XREAD BLOCK): it gets one of its own. */
  private readonly replies: RedisClient;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private readonly reading: Promise<void>;

  constructor(private readonly options: RpcClientOptions) {
    this.connection = createRedis(options.redisUrl);
    this.requests = requestKey(options.prefix, options.queue);
    this.replies = createRedis(options.redisUrl, {
      // Named, so an operator (or a test) can tell it in CLIENT LIST.
      connectionName: `rpc-replies-${this.id}`,
      // A blocked read is answered at least every REPLY_WAIT_MS: silence for longer means a
      // dead (half-open) socket, which is dropped and reconnected; the read resumes in place.
      socketTimeout: REPLY_WAIT_MS * 5,
    });
    this.reading = this.readReplies();
  }

  /** Resolves once the queue and the reply stream can be reached. */
  async ready(): Promise<void> {
    // Not a PING: it would wait behind the reply loop's blocked read (up to REPLY_WAIT_MS).
    const replies =
      this.replies.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.replies.once('ready', () => resolve()));
    const connection =
      this.connection.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.connection.once('ready', () => resolve()));
    await Promise.all([connection, replies]);
  }

  /**
   * Reads this client's replies until it is closed, each after the last one handled: a read
   * lost with its connection is sent again by ioredis from the same place. What is handled is
   * trimmed. While Redis is away the read waits in ioredis's queue (no spinning).
   */
  private async readReplies(): Promise<void> {
    const key = replyKey(this.options.prefix, this.id);
    let after = '0';
    while (!this.closed) {
      let read: [string, [string, string[]][]][] | null;
      try {
        read = await this.replies.xread(
          'COUNT',
          REPLY_BATCH,
          'BLOCK',
          REPLY_WAIT_MS,
          'STREAMS',
          key,
          after,
        );
      } catch {
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const entries = read?.[0]?.[1] ?? [];
      for (const [entryId, fields] of entries) {
        after = entryId;
        const at = fields.indexOf(REPLY_FIELD);
        if (at >= 0) this.receive(fields[at + 1]);
      }
      // Everything before the last entry handled (which the next read starts after).
      if (entries.length > 0) this.connection.xtrim(key, 'MINID', after).catch(() => undefined);
    }
  }

  private receive(raw: string): void {
    let message: ReplyMessage;
    try {
      message = JSON.parse(raw) as ReplyMessage;
    } catch {
      return; // Not ours to understand; the caller's deadline still holds.
    }
    this.settle(message.id, message.reply);
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
    const callId = randomBase62(20);
    const jobId = callJobId(this.id, callId);
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The request carries the deadline: a server reading it later drops it unrun.
        this.pending.delete(jobId);
        reject(
          new DomainError('upstream_timeout', 'The service did not answer in time. Try again.'),
        );
      }, timeoutMs);
      this.pending.set(jobId, { resolve, reject, timer });
    });
    // The append is not awaited before the reply: the deadline covers it too, and a rejection
    // of either settles the one pending entry. Entries far past any deadline are trimmed.
    void this.connection
      .xadd(
        this.requests,
        'MINID',
        '~',
        String(Date.now() - REQUEST_RETENTION_MS),
        '*',
        'n',
        name,
        'p',
        JSON.stringify(payload),
        'c',
        this.id,
        'i',
        callId,
        't',
        String(timeoutMs),
      )
      .catch((err: unknown) =>
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
    this.closed = true;
    for (const [, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new DomainError('service_unavailable', 'Shutting down.'));
    }
    this.pending.clear();
    // Ends the blocked read (it rejects, and the loop sees `closed`).
    this.replies.disconnect();
    // The reply loop ends once its read rejects; when Redis is away that is at once.
    await Promise.race([this.reading, new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.connection.disconnect();
  }
}
