import { LRUCache } from 'lru-cache';
import type { KeyPrincipal } from '@cap/contracts';

/** What the cache knows of a key hash: its principal, or that it grants nothing. */
type Entry<P> = { principal: P | null };

/** The one answer for every unknown hash: a hit on it allocates nothing. */
const UNKNOWN: Entry<never> = Object.freeze({ principal: null });

/** How long the hash of a valid key is remembered after its entry left the cache. */
const FORMERLY_KNOWN_TTL_MS = 60 * 60_000;

/** Unknown keys are remembered for less time: they are the cheap thing for a caller to vary. */
const NEGATIVE_TTL_MS = 10_000;

export interface NegativeCacheOptions {
  /** How many unknown hashes are remembered, apart from (never evicting) the known keys. */
  max: number;
  /** How long an unknown hash is remembered (never longer than the cache's own ttl). */
  ttlMs: number;
}

/**
 * In-process cache of key lookups by secret hash, bounded in size and age. Revocation events
 * evict by key id, so the cache also indexes hashes by key id.
 *
 * Unknown hashes live in a cache of their own, with its own bound: forged keys cost a caller
 * nothing to vary, so a flood of them must not push the valid keys out.
 *
 * A lookup runs while events arrive: `mark()` before it and `set(…, mark)` after, and an answer
 * that a revocation (or a `clear`) may have made stale in the meantime is not cached.
 */
export class KeyCache<P extends { key_id: string } = KeyPrincipal> {
  private readonly byHash: LRUCache<string, Entry<P>>;
  private readonly unknown: LRUCache<string, true>;
  /**
   * Hashes of valid keys whose entry aged out or was pushed out: a client sending one again is
   * not guessing, even from an address that spent its budget of failures.
   */
  private readonly formerlyKnown: LRUCache<string, true>;
  /** A key has two live secrets during a rotation's grace period. */
  private readonly hashesByKeyId = new Map<string, Set<string>>();
  /** Bumped by every eviction and clear; what a lookup's mark is compared with. */
  private generation = 0;
  private clearedAt = 0;
  /** The generation at which each recently evicted key id was evicted. */
  private readonly evictedAt = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    max: number,
    private readonly ttlMs: number,
    negative: NegativeCacheOptions = { max: Math.min(max, 10_000), ttlMs: NEGATIVE_TTL_MS },
  ) {
    this.byHash = new LRUCache<string, Entry<P>>({
      max,
      ttl: Math.max(ttlMs, 1),
      dispose: (entry, hash, reason) => {
        if (!entry.principal) return;
        if (reason === 'expire' || reason === 'evict') this.formerlyKnown.set(hash, true);
        const hashes = this.hashesByKeyId.get(entry.principal.key_id);
        hashes?.delete(hash);
        if (hashes?.size === 0) this.hashesByKeyId.delete(entry.principal.key_id);
      },
    });
    this.formerlyKnown = new LRUCache<string, true>({ max, ttl: FORMERLY_KNOWN_TTL_MS });
    this.unknown = new LRUCache<string, true>({
      max: negative.max,
      ttl: Math.max(Math.min(ttlMs, negative.ttlMs), 1),
    });
  }

  get(hash: string): Entry<P> | undefined {
    return this.byHash.get(hash) ?? (this.unknown.get(hash) ? UNKNOWN : undefined);
  }

  /** Whether `hash` was a valid key's until its entry aged out (in the last hour). */
  wasKnown(hash: string): boolean {
    return this.formerlyKnown.has(hash);
  }

  /** What to pass to `set` for an answer looked up from now on. */
  mark(): number {
    return this.generation;
  }

  /**
   * Whether an answer about `keyId` looked up since `mark` may be stale: the key was evicted
   * (revoked) or the cache cleared after the lookup began.
   */
  changedSince(keyId: string, mark: number): boolean {
    return mark < this.clearedAt || (this.evictedAt.get(keyId) ?? 0) > mark;
  }

  /**
   * Remembers the answer for `hash`; with the `mark` taken before its lookup, a found key that
   * was evicted or cleared meanwhile is not cached (returns false).
   */
  set(hash: string, principal: P | null, mark?: number): boolean {
    if (this.ttlMs === 0) return false;
    if (!principal) {
      this.byHash.delete(hash);
      this.unknown.set(hash, true);
      return true;
    }
    if (mark !== undefined && this.changedSince(principal.key_id, mark)) return false;
    this.unknown.delete(hash);
    this.byHash.set(hash, { principal });
    const hashes = this.hashesByKeyId.get(principal.key_id) ?? new Set<string>();
    hashes.add(hash);
    this.hashesByKeyId.set(principal.key_id, hashes);
    return true;
  }

  evictKey(keyId: string): void {
    this.generation += 1;
    this.evictedAt.set(keyId, this.generation);
    for (const hash of [...(this.hashesByKeyId.get(keyId) ?? [])]) this.byHash.delete(hash);
  }

  clear(): void {
    this.generation += 1;
    this.clearedAt = this.generation;
    this.byHash.clear();
    this.unknown.clear();
    this.formerlyKnown.clear();
    this.hashesByKeyId.clear();
  }

  /** Entries held, known keys and unknown hashes together. */
  get size(): number {
    return this.byHash.size + this.unknown.size;
  }

  /** Known keys held. */
  get knownSize(): number {
    return this.byHash.size;
  }
}
