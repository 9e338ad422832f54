import { randomUUID } from 'node:crypto';
import type { RedisClient } from '@cap/queue';

/**
 * The shared window of a bucket lives in Redis as a sorted set of leases, `<id>:<permits>`
 * scored by the time they were granted (Redis's clock, so gateways need no synchronised
 * clocks). A lease is counted for a full window from its grant: in any window of `windowMs`
 * at most `limit` permits are granted across all gateways.
 */
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
local oldest = now
for i = 1, #members, 2 do
  used = used + tonumber(string.match(members[i], ':(%d+)$'))
  local score = tonumber(members[i + 1])
  if score < oldest then oldest = score end
end
local grant = math.min(want, limit - used)
if grant < 0 then grant = 0 end
if grant > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. grant)
  used = used + grant
end
redis.call('PEXPIRE', KEYS[1], window)
return { grant, used, now, oldest }
`;

/** Gives back the permits of a lease that were not used, so other gateways can have them. */
const RETURN = `
local member = ARGV[1]
local unused = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[1], member)
if not score then return 0 end
local id, granted = string.match(member, '^(.*):(%d+)$')
redis.call('ZREM', KEYS[1], member)
local left = tonumber(granted) - unused
if left > 0 then redis.call('ZADD', KEYS[1], score, id .. ':' .. left) end
return 1
`;

export interface Decision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until a permit frees up (the oldest lease leaves the window). */
  resetSeconds: number;
}

export interface LimiterOptions {
  windowMs: number;
  /**
   * Share of a bucket's limit one gateway may lease at once. Leased permits are counted in
   * Redis before they are used, so with N gateways the window can be off by at most
   * N × fraction × limit: 0.005 keeps two gateways within ±1 %.
   */
  leaseFraction: number;
  /** Unused permits go back after this long. */
  leaseTtlMs: number;
  /** Told of every lease Redis was asked for: permits granted, none left, or no answer. */
  onLease?: (outcome: 'granted' | 'denied' | 'unavailable') => void;
}

/** How often one request may renew a lease that others drained before it could take from it. */
const MAX_RENEWALS = 16;

interface Lease {
  member: string;
  limit: number;
  /** Permits Redis granted this lease (0: the window is full). */
  granted: number;
  /** Permits of this lease not spent yet. */
  permits: number;
  /** Permits granted in the window, all gateways, as of this lease (includes `permits`). */
  used: number;
  /** Local clock: when this lease's unused permits are given back. */
  expiresAt: number;
  /** Local clock: when the oldest lease in the window leaves it. */
  resetAt: number;
  /** Local clock: a denial is remembered until then, sparing Redis under a flood. */
  deniedUntil: number;
}

type Script = (key: string, ...args: (string | number)[]) => Promise<unknown>;

/**
 * A sliding-window rate limiter shared by every gateway through Redis, that asks Redis for a
 * small lease of permits at a time instead of once per request.
 */
export class SlidingWindowLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<Lease>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly options: LimiterOptions,
  ) {
    redis.defineCommand('capLease', { numberOfKeys: 1, lua: LEASE });
    redis.defineCommand('capReturn', { numberOfKeys: 1, lua: RETURN });
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, options.leaseTtlMs)).unref();
  }

  private key(bucket: string): string {
    // The hash tag keeps a bucket on one Redis Cluster slot.
    return `${this.keyPrefix}:rl:{${bucket}}`;
  }

  /**
   * Spends one permit of `bucket` if this process can decide alone: a lease with permits left,
   * or a denial it remembers. `undefined` means Redis must be asked (`take`).
   */
  tryTake(bucket: string, limit: number): Decision | undefined {
    const lease = this.leases.get(bucket);
    if (!lease || lease.limit !== limit) return undefined;
    const now = Date.now();
    if (lease.permits > 0 && now < lease.expiresAt) {
      lease.permits -= 1;
      return this.decide(lease, true, now);
    }
    if (lease.granted === 0 && now < lease.deniedUntil) return this.decide(lease, false, now);
    return undefined;
  }

  /**
   * Spends one permit of `bucket`; throws if Redis cannot be reached. Requests that wait on
   * the same renewal share its permits; one that finds them gone renews again, and is refused
   * only when Redis itself grants nothing.
   */
  async take(bucket: string, limit: number): Promise<Decision> {
    for (let attempt = 0; ; attempt++) {
      const decided = this.tryTake(bucket, limit);
      if (decided) return decided;
      let lease = this.leases.get(bucket);
      if (lease && lease.limit !== limit) {
        this.giveBack(bucket, lease);
        lease = undefined;
      }
      lease = await this.renew(bucket, limit, lease);
      // Redis is out of permits, or a stampede keeps draining fresh leases: refuse.
      if (lease.granted === 0 || attempt >= MAX_RENEWALS)
        return this.decide(lease, false, Date.now());
    }
  }

  private decide(lease: Lease, allowed: boolean, now: number): Decision {
    return {
      allowed,
      limit: lease.limit,
      remaining: Math.max(0, lease.limit - lease.used + lease.permits),
      resetSeconds: Math.min(
        Math.ceil(this.options.windowMs / 1000),
        Math.max(1, Math.ceil((lease.resetAt - now) / 1000)),
      ),
    };
  }

  private renew(bucket: string, limit: number, old: Lease | undefined): Promise<Lease> {
    let pending = this.pending.get(bucket);
    if (!pending) {
      if (old && old.permits > 0) this.giveBack(bucket, old);
      pending = this.lease(bucket, limit).finally(() => this.pending.delete(bucket));
      this.pending.set(bucket, pending);
    }
    return pending;
  }

  private async lease(bucket: string, limit: number): Promise<Lease> {
    const want = Math.max(1, Math.floor(limit * this.options.leaseFraction));
    const member = randomUUID();
    const sent = Date.now();
    let answer: number[];
    try {
      answer = (await (this.redis as unknown as { capLease: Script }).capLease(
        this.key(bucket),
        this.options.windowMs,
        limit,
        want,
        member,
      )) as number[];
    } catch (err) {
      this.options.onLease?.('unavailable');
      throw err;
    }
    const [granted, used, redisNow, oldest] = answer;
    this.options.onLease?.(granted > 0 ? 'granted' : 'denied');
    // Redis's clock, mapped onto ours through the moment of the call.
    const skew = sent - redisNow;
    const resetAt = oldest + this.options.windowMs + skew;
    const now = Date.now();
    const lease: Lease = {
      member: `${member}:${granted}`,
      limit,
      granted,
      permits: granted,
      used,
      expiresAt: now + this.options.leaseTtlMs,
      resetAt,
      deniedUntil: granted === 0 ? Math.min(resetAt, now + 100) : 0,
    };
    this.leases.set(bucket, lease);
    return lease;
  }

  private giveBack(bucket: string, lease: Lease): void {
    this.leases.delete(bucket);
    if (lease.permits <= 0) return;
    const unused = lease.permits;
    lease.permits = 0;
    (this.redis as unknown as { capReturn: Script })
      .capReturn(this.key(bucket), lease.member, unused)
      .catch(() => undefined);
  }

  /** Returns the unused permits of expired leases and forgets idle buckets. */
  private sweep(): void {
    const now = Date.now();
    for (const [bucket, lease] of this.leases) {
      if (now >= lease.expiresAt && !this.pending.has(bucket)) this.giveBack(bucket, lease);
    }
  }

  /** Gives every unused permit back (on shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const [bucket, lease] of this.leases) this.giveBack(bucket, lease);
    await new Promise((r) => setImmediate(r));
  }
}
