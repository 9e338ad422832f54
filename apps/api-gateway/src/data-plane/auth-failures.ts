import { LRUCache } from 'lru-cache';
import type { RedisClient } from '@cap/queue';

export interface AuthFailureOptions {
  /** Failed authentications one client address may make per window, all replicas together. */
  budget: number;
  windowMs: number;
  /** Redis keys live under this prefix (the queue prefix). */
  prefix: string;
  /** Addresses tracked at once by this process (the least recently seen forgotten first). */
  maxAddresses?: number;
  /** Told each time a request is refused for its address's failures. */
  onThrottled?: () => void;
}

/** What this process knows of one address's failures in its current window. */
interface Tally {
  /** When the window ends (ms since epoch): it starts at the address's first failure. */
  endsAt: number;
  /** Failures seen here. */
  failures: number;
  /** Checks under way here, each counted as a failure until it succeeds. */
  pending: number;
  /** Failures of every replica together, as Redis last counted them. */
  shared: number;
}

/**
 * Failed authentications per client address, so that guessing keys costs the guesser and not
 * projects-service. A credential this process does not know to be valid is a guess until it
 * is shown to be one: `take` counts it before any lookup (a parallel burst cannot outrun the
 * budget), `settle` says how it ended. Past the budget the address is refused before any
 * lookup until its window ends. Valid credentials this process has cached never come here:
 * one guesser behind a NAT does not lock out the valid clients sharing its address.
 *
 * Replicas share the count through Redis, written only when a failure happens (never on the
 * path of a valid credential): each learns an address is over its budget on the next failure
 * it sees from it, so a replica makes at most one lookup for an address the others blocked.
 * When Redis cannot be reached, each replica still holds every address to the budget alone.
 */
export class AuthFailureLimiter {
  private readonly tallies: LRUCache<string, Tally>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: AuthFailureOptions,
  ) {
    this.tallies = new LRUCache({ max: options.maxAddresses ?? 100_000 });
  }

  /**
   * Before checking a credential that `ip` sent and this process does not know to be valid:
   * 0 when the check may go ahead (it is counted as under way), or the seconds to wait.
   */
  take(ip: string): number {
    const address = addressKey(ip);
    const now = Date.now();
    let tally = this.tallies.get(address);
    if (tally && tally.endsAt <= now) {
      tally.failures = 0;
      tally.shared = 0;
      tally.endsAt = now + this.options.windowMs;
    }
    if (tally && Math.max(tally.failures, tally.shared) + tally.pending >= this.options.budget) {
      return Math.max(1, Math.ceil((tally.endsAt - now) / 1000));
    }
    if (!tally) {
      tally = { endsAt: now + this.options.windowMs, failures: 0, pending: 0, shared: 0 };
      this.tallies.set(address, tally);
    }
    tally.pending += 1;
    return 0;
  }

  /** A check let through although `take` refused it (the credential is not a guess). */
  takeAnyway(ip: string): void {
    const tally = this.tallies.get(addressKey(ip));
    if (tally) tally.pending += 1;
  }

  /** Counts a request refused for its address's failures. */
  throttled(): void {
    this.options.onThrottled?.();
  }

  /** How the check `take` let through ended: `failed` when the credential was refused. */
  settle(ip: string, failed: boolean): void {
    const address = addressKey(ip);
    const tally = this.tallies.get(address);
    if (tally) tally.pending = Math.max(0, tally.pending - 1);
    if (!failed) return;
    if (tally) tally.failures += 1;
    this.share(address);
  }

  /** Counts the failure in Redis; the answer tells this process what every replica saw. */
  private share(address: string): void {
    const key = `${this.options.prefix}:auth-failures:${address}`;
    this.redis
      .multi()
      // The window starts at the address's first failure, the same for every replica.
      .set(key, 0, 'PX', this.options.windowMs, 'NX')
      .incr(key)
      .pttl(key)
      .exec()
      .then(
        (results) => {
          const count = Number(results?.[1]?.[1]);
          const ttl = Number(results?.[2]?.[1]);
          const tally = this.tallies.get(address);
          if (!tally || !Number.isFinite(count)) return;
          tally.shared = Math.max(tally.shared, count);
          if (ttl > 0) tally.endsAt = Math.max(tally.endsAt, Date.now() + ttl);
        },
        // Redis away: this process's own count still holds the address to the budget.
        () => undefined,
      );
  }
}

/**
 * The unit an address is limited by: an IPv4 address, or an IPv6 /64 (one subscriber usually
 * holds a whole /64, and could otherwise use a fresh address for every guess).
 */
export function addressKey(ip: string): string {
  const bare = ip.split('%')[0];
  if (bare.startsWith('::ffff:') && bare.includes('.')) return bare.slice('::ffff:'.length);
  if (!bare.includes(':')) return bare;
  const groupsOf = (part: string) =>
    part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [];
  const [head, tail] = bare.split('::');
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const zeros = Array<string>(Math.max(0, 8 - first.length - last.length)).fill('0');
  const groups = [...first, ...zeros, ...last].slice(0, 4);
  return `${groups.map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
