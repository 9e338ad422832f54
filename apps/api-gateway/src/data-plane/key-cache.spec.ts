import type { KeyPrincipal } from '@cap/contracts';
import { KeyCache } from './key-cache';

function principal(keyId: string): KeyPrincipal {
  return {
    key_id: keyId,
    user_id: 'usr_1',
    project_id: 'prj_1',
    scopes: ['projects:read'],
    rate_limit: null,
    project_access: 'member',
    grant_id: null,
    expires_at: null,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyCache', () => {
  it('returns what was set, and nothing for an unknown hash', () => {
    const cache = new KeyCache(10, 60_000);
    const p = principal('key_a');
    cache.set('hash-a', p);
    expect(cache.get('hash-a')).toEqual({ principal: p });
    expect(cache.get('hash-b')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('remembers a negative entry as a null principal', () => {
    const cache = new KeyCache(10, 60_000);
    cache.set('hash-unknown', null);
    expect(cache.get('hash-unknown')).toEqual({ principal: null });
    expect(cache.size).toBe(1);
  });

  it('replaces an entry set twice', () => {
    const cache = new KeyCache(10, 60_000);
    cache.set('hash-a', null);
    cache.set('hash-a', principal('key_a'));
    expect(cache.get('hash-a')?.principal?.key_id).toBe('key_a');
    expect(cache.size).toBe(1);
  });

  describe('evictKey', () => {
    it('removes the entry of that key id, and only it', () => {
      const cache = new KeyCache(10, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-b', principal('key_b'));
      cache.set('hash-x', null);
      cache.evictKey('key_a');
      expect(cache.get('hash-a')).toBeUndefined();
      expect(cache.get('hash-b')?.principal?.key_id).toBe('key_b');
      expect(cache.get('hash-x')).toEqual({ principal: null });
      expect(cache.size).toBe(2);
    });

    it('still works after the same entry was set again', () => {
      const cache = new KeyCache(10, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-a', principal('key_a'));
      cache.evictKey('key_a');
      expect(cache.get('hash-a')).toBeUndefined();
    });

    it('does nothing for an unknown key id, and is idempotent', () => {
      const cache = new KeyCache(10, 60_000);
      cache.set('hash-a', principal('key_a'));
      expect(() => cache.evictKey('key_nope')).not.toThrow();
      cache.evictKey('key_a');
      expect(() => cache.evictKey('key_a')).not.toThrow();
      expect(cache.size).toBe(0);
    });

    it('does not remove a negative entry that later took the hash of an evicted key', () => {
      const cache = new KeyCache(10, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-a', null); // the key was found revoked: the hash now grants nothing
      cache.evictKey('key_a');
      expect(cache.get('hash-a')).toEqual({ principal: null });
    });

    it('lets a key be cached again after its eviction', () => {
      const cache = new KeyCache(10, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.evictKey('key_a');
      cache.set('hash-a', principal('key_a'));
      expect(cache.get('hash-a')?.principal?.key_id).toBe('key_a');
      cache.evictKey('key_a');
      expect(cache.get('hash-a')).toBeUndefined();
    });
  });

  it('clear() forgets every entry and the key-id index', () => {
    const cache = new KeyCache(10, 60_000);
    cache.set('hash-a', principal('key_a'));
    cache.set('hash-x', null);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.get('hash-x')).toBeUndefined();
    expect(() => cache.evictKey('key_a')).not.toThrow();
    // After clear, a stale index must not evict a new entry under the same hash.
    cache.set('hash-a', null);
    cache.evictKey('key_a');
    expect(cache.get('hash-a')).toEqual({ principal: null });
  });

  it('caches nothing when the ttl is 0', () => {
    const cache = new KeyCache(10, 0);
    cache.set('hash-a', principal('key_a'));
    cache.set('hash-x', null);
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.get('hash-x')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(() => cache.evictKey('key_a')).not.toThrow();
  });

  describe('the size bound', () => {
    it('never holds more than max known keys and max unknown hashes', () => {
      const cache = new KeyCache(3, 60_000);
      for (let i = 0; i < 10; i++) cache.set(`hash-${i}`, i % 2 ? null : principal(`key_${i}`));
      expect(cache.knownSize).toBe(3);
      expect(cache.size).toBe(6);
      expect(cache.get('hash-9')).toBeDefined();
      expect(cache.get('hash-8')).toBeDefined();
      expect(cache.get('hash-0')).toBeUndefined();
      expect(cache.get('hash-1')).toBeUndefined();
    });

    it('evicts the least recently used entry', () => {
      const cache = new KeyCache(2, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-b', principal('key_b'));
      expect(cache.get('hash-a')).toBeDefined(); // a is now the most recently used
      cache.set('hash-c', principal('key_c'));
      expect(cache.get('hash-b')).toBeUndefined();
      expect(cache.get('hash-a')?.principal?.key_id).toBe('key_a');
      expect(cache.get('hash-c')?.principal?.key_id).toBe('key_c');
    });

    it('does not throw when evicting a key whose entry was dropped', () => {
      const cache = new KeyCache(2, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-b', principal('key_b'));
      cache.set('hash-c', principal('key_c')); // drops hash-a
      expect(cache.get('hash-a')).toBeUndefined();
      expect(() => cache.evictKey('key_a')).not.toThrow();
      expect(cache.size).toBe(2);
      expect(cache.get('hash-b')).toBeDefined();
      expect(cache.get('hash-c')).toBeDefined();
    });

    it('drops the key-id index with the entry, so a later entry under that hash survives', () => {
      const cache = new KeyCache(2, 60_000);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-b', principal('key_b'));
      cache.set('hash-c', principal('key_c')); // drops hash-a, and key_a from the index
      cache.set('hash-a', null); // drops hash-b; hash-a is now a negative entry
      cache.evictKey('key_a'); // must not reach the new hash-a entry
      expect(cache.get('hash-a')).toEqual({ principal: null });
      cache.evictKey('key_b');
      expect(cache.get('hash-c')?.principal?.key_id).toBe('key_c');
      expect(cache.get('hash-a')).toEqual({ principal: null });
      cache.evictKey('key_c');
      expect(cache.get('hash-c')).toBeUndefined();
      expect(cache.size).toBe(1);
    });

    it('keeps evicting correctly under churn', () => {
      const cache = new KeyCache(5, 60_000);
      for (let i = 0; i < 100; i++) cache.set(`hash-${i}`, principal(`key_${i}`));
      for (let i = 0; i < 95; i++) expect(() => cache.evictKey(`key_${i}`)).not.toThrow();
      expect(cache.size).toBe(5);
      for (let i = 95; i < 100; i++) cache.evictKey(`key_${i}`);
      expect(cache.size).toBe(0);
    });
  });

  describe('ageing', () => {
    it('forgets an entry after its ttl', async () => {
      const cache = new KeyCache(10, 40);
      cache.set('hash-a', principal('key_a'));
      cache.set('hash-x', null);
      expect(cache.get('hash-a')).toBeDefined();
      await sleep(80);
      expect(cache.get('hash-a')).toBeUndefined();
      expect(cache.get('hash-x')).toBeUndefined();
      expect(() => cache.evictKey('key_a')).not.toThrow();
    });

    describe('with a controlled clock', () => {
      let now = 1_000_000;
      // lru-cache reads performance.now() and reuses the reading for 1 ms of real time.
      const advance = async (ms: number) => {
        now += ms;
        await sleep(5);
      };
      beforeEach(() => {
        jest.spyOn(performance, 'now').mockImplementation(() => now);
      });
      afterEach(() => jest.restoreAllMocks());

      it('keeps a found key for the full ttl', async () => {
        const cache = new KeyCache(10, 60_000);
        cache.set('hash-a', principal('key_a'));
        await advance(59_000);
        expect(cache.get('hash-a')).toBeDefined();
        await advance(2_000);
        expect(cache.get('hash-a')).toBeUndefined();
      });

      it('keeps an unknown key for at most 10 seconds', async () => {
        const cache = new KeyCache(10, 60_000);
        cache.set('hash-x', null);
        cache.set('hash-a', principal('key_a'));
        await advance(9_000);
        expect(cache.get('hash-x')).toEqual({ principal: null });
        await advance(2_000);
        expect(cache.get('hash-x')).toBeUndefined();
        expect(cache.get('hash-a')).toBeDefined();
      });

      it('keeps an unknown key no longer than a ttl under 10 seconds', async () => {
        const cache = new KeyCache(10, 3_000);
        cache.set('hash-x', null);
        await advance(2_000);
        expect(cache.get('hash-x')).toBeDefined();
        await advance(2_000);
        expect(cache.get('hash-x')).toBeUndefined();
      });

      it('does not extend the age of an entry that is read', async () => {
        const cache = new KeyCache(10, 60_000);
        cache.set('hash-a', principal('key_a'));
        for (let i = 0; i < 4; i++) {
          await advance(14_000);
          expect(cache.get('hash-a')).toBeDefined();
        }
        await advance(5_000);
        expect(cache.get('hash-a')).toBeUndefined();
      });
    });
  });
});
