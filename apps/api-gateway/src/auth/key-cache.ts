import { LRUCache } from 'lru-cache';
import type { KeyPrincipal } from '@cap/contracts';

/** What the cache knows of a key hash: its principal, or that it grants nothing. */
type Entry<P> = { principal: P | null };

/**
 * In-process cache of key lookups by secret hash, bounded in size and age. Revocation events
 * evict by key id, so the cache also indexes hashes by key id.
 */
export class KeyCache<P extends { key_id: string } = KeyPrincipal> {
  private readonly byHash: LRUCache<string, Entry<P>>;
  /** A key has two live secrets during a rotation's grace period. */
  private readonly hashesByKeyId = new Map<string, Set<string>>();

  constructor(
    max: number,
    private readonly ttlMs: number,
  ) {
    this.byHash = new LRUCache<string, Entry<P>>({
      max,
      ttl: Math.max(ttlMs, 1),
      dispose: (entry, hash) => {
        if (!entry.principal) return;
        const hashes = this.hashesByKeyId.get(entry.principal.key_id);
        hashes?.delete(hash);
        if (hashes?.size === 0) this.hashesByKeyId.delete(entry.principal.key_id);
      },
    });
  }

  get(hash: string): Entry<P> | undefined {
    return this.byHash.get(hash);
  }

  set(hash: string, principal: P | null): void {
    if (this.ttlMs === 0) return;
    // Unknown keys are remembered for less time: they are the cheap thing for a caller to vary.
    this.byHash.set(
      hash,
      { principal },
      principal ? undefined : { ttl: Math.min(this.ttlMs, 10_000) },
    );
    if (principal) {
      const hashes = this.hashesByKeyId.get(principal.key_id) ?? new Set<string>();
      hashes.add(hash);
      this.hashesByKeyId.set(principal.key_id, hashes);
    }
  }

  evictKey(keyId: string): void {
    for (const hash of [...(this.hashesByKeyId.get(keyId) ?? [])]) this.byHash.delete(hash);
  }

  clear(): void {
    this.byHash.clear();
    this.hashesByKeyId.clear();
  }

  get size(): number {
    return this.byHash.size;
  }
}
