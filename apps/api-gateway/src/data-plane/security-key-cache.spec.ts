/**
 * The key cache under attack and under races: forged keys have a cache of their own, and a
 * lookup that a revocation (or a reconnect) overtook is not cached. The resolver runs with an
 * upstream whose answers the test releases by hand, so every interleaving is exact.
 */
import { generateApiKey, hashApiKey } from '@cap/auth';
import type { KeyPrincipal } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import type { EventBus } from '@cap/queue';
import type { GatewayConfig } from '../config';
import type { Upstream } from '../upstream/upstream';
import { KeyCache } from './key-cache';
import type { KeyUsage } from './key-usage';
import { BearerPrincipalResolver } from './principal-resolver';
import type { TokenVerifier } from './token-verifier';

function keyPrincipal(keyId: string): KeyPrincipal {
  return {
    key_id: keyId,
    user_id: 'usr_1',
    project_id: 'prj_1',
    scopes: ['projects:read'],
    rate_limit: null,
    expires_at: null,
    project_access: 'member',
    grant_id: null,
  };
}

describe('security: unknown keys cannot evict known ones', () => {
  it('keeps every valid key through a flood of unknown hashes far larger than the cache', () => {
    const cache = new KeyCache(100, 60_000, { max: 50, ttlMs: 10_000 });
    for (let i = 0; i < 100; i++) cache.set(`valid-${i}`, keyPrincipal(`key_${i}`));
    for (let i = 0; i < 5_000; i++) cache.set(`forged-${i}`, null);
    for (let i = 0; i < 100; i++) {
      expect(cache.get(`valid-${i}`)?.principal?.key_id).toBe(`key_${i}`);
    }
    expect(cache.knownSize).toBe(100);
    // The unknown ones are bounded by their own size: the latest are remembered.
    expect(cache.size).toBe(150);
    expect(cache.get('forged-4999')).toEqual({ principal: null });
    expect(cache.get('forged-0')).toBeUndefined();
  });

  it('remembers an unknown hash for its own, shorter ttl', async () => {
    let now = 1_000_000;
    // lru-cache reads performance.now() and reuses the reading for 1 ms of real time.
    const advance = async (ms: number) => {
      now += ms;
      await new Promise((r) => setTimeout(r, 5));
    };
    const spy = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const cache = new KeyCache(10, 60_000, { max: 10, ttlMs: 2_000 });
      cache.set('forged', null);
      cache.set('valid', keyPrincipal('key_a'));
      await advance(1_500);
      expect(cache.get('forged')).toEqual({ principal: null });
      await advance(1_000);
      expect(cache.get('forged')).toBeUndefined();
      expect(cache.get('valid')).toBeDefined();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('security: a valid key whose entry aged out is not taken for a guess', () => {
  it('remembers the hash of a key that expired or was pushed out, not of one revoked', async () => {
    let now = 1_000_000;
    const advance = async (ms: number) => {
      now += ms;
      await new Promise((r) => setTimeout(r, 5));
    };
    const spy = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const cache = new KeyCache(2, 1_000);
      cache.set('aged', keyPrincipal('key_aged'));
      cache.set('revoked', keyPrincipal('key_revoked'));
      expect(cache.wasKnown('aged')).toBe(false);
      cache.evictKey('key_revoked');
      await advance(1_500);
      expect(cache.get('aged')).toBeUndefined();
      expect(cache.wasKnown('aged')).toBe(true);
      expect(cache.wasKnown('revoked')).toBe(false);

      cache.set('a', keyPrincipal('key_a'));
      cache.set('b', keyPrincipal('key_b'));
      cache.set('c', keyPrincipal('key_c')); // pushes out a
      expect(cache.wasKnown('a')).toBe(true);
      cache.set('forged', null);
      expect(cache.wasKnown('forged')).toBe(false);
    } finally {
      spy.mockRestore();
    }
  });
});

/** An upstream whose `keys.authenticate` answers only when the test says so. */
class HeldUpstream {
  readonly asked: string[] = [];
  private readonly waiting: Array<(key: KeyPrincipal | null) => void> = [];
  readonly projects = {
    call: (job: string, payload: { secret_hash: string }): Promise<KeyPrincipal | null> => {
      expect(job).toBe('keys.authenticate');
      this.asked.push(payload.secret_hash);
      return new Promise((resolve) => this.waiting.push(resolve));
    },
  };

  /** Answers the oldest lookup still waiting. */
  answer(key: KeyPrincipal | null): void {
    const next = this.waiting.shift();
    if (!next) throw new Error('no lookup is waiting');
    next(key);
  }
}

class FakeEvents {
  readonly handlers = new Map<string, (payload: unknown) => void>();
  readonly reconnect: Array<() => void> = [];
  subscribe(name: string, handler: (payload: unknown) => void): Promise<void> {
    this.handlers.set(name, handler);
    return Promise.resolve();
  }
  onReconnect(handler: () => void): void {
    this.reconnect.push(handler);
  }
  emit(name: string, payload: unknown): void {
    this.handlers.get(name)!(payload);
  }
}

async function resolverWith(upstream: HeldUpstream, events: FakeEvents) {
  const config = { KEY_CACHE_MAX: 1_000, KEY_CACHE_TTL_MS: 60_000 } as GatewayConfig;
  const tokens = { clear: () => undefined, onRevoked: () => undefined } as unknown as TokenVerifier;
  const usage = { touch: () => undefined } as unknown as KeyUsage;
  const resolver = new BearerPrincipalResolver(
    { ...config, KEY_NEGATIVE_CACHE_MAX: 1_000, KEY_NEGATIVE_CACHE_TTL_MS: 10_000 },
    upstream as unknown as Upstream,
    events as unknown as EventBus,
    tokens,
    usage,
    new Metrics('api-gateway-test'),
  );
  await resolver.onApplicationBootstrap();
  return resolver;
}

describe('security: a lookup overtaken by a revocation is not cached', () => {
  it('does not cache a key whose revocation event arrived while it was being looked up', async () => {
    const upstream = new HeldUpstream();
    const events = new FakeEvents();
    const resolver = await resolverWith(upstream, events);
    const secret = generateApiKey();

    const first = resolver.resolve(secret);
    expect(upstream.asked).toEqual([hashApiKey(secret)]);
    // projects-service read the key before it was revoked; the event overtakes the reply.
    events.emit('events:key-revoked', { v: 1, key_ids: ['key_revoked'] });
    upstream.answer(keyPrincipal('key_revoked'));
    await first;

    // Not remembered: the next request asks again, and is told the key is gone.
    expect(resolver.resolveKnown(secret)).toBeUndefined();
    const second = resolver.resolve(secret);
    expect(upstream.asked).toHaveLength(2);
    upstream.answer(null);
    await expect(second).resolves.toBeNull();
    expect(resolver.resolveKnown(secret)).toBeNull();
  });

  it('still caches a key when only other keys were revoked meanwhile', async () => {
    const upstream = new HeldUpstream();
    const events = new FakeEvents();
    const resolver = await resolverWith(upstream, events);
    const secret = generateApiKey();

    const first = resolver.resolve(secret);
    events.emit('events:key-revoked', { v: 1, key_ids: ['key_other'] });
    upstream.answer(keyPrincipal('key_fine'));
    await expect(first).resolves.toMatchObject({ key_id: 'key_fine' });
    expect(resolver.resolveKnown(secret)).toMatchObject({ key_id: 'key_fine' });
    expect(upstream.asked).toHaveLength(1);
  });

  it('does not cache a key this process evicted itself while it was being looked up', async () => {
    const upstream = new HeldUpstream();
    const resolver = await resolverWith(upstream, new FakeEvents());
    const secret = generateApiKey();

    const first = resolver.resolve(secret);
    resolver.evict('key_a');
    upstream.answer(keyPrincipal('key_a'));
    await first;
    expect(resolver.resolveKnown(secret)).toBeUndefined();
  });

  it('does not cache a lookup begun before a reconnect cleared the cache', async () => {
    const upstream = new HeldUpstream();
    const events = new FakeEvents();
    const resolver = await resolverWith(upstream, events);
    const secret = generateApiKey();

    const first = resolver.resolve(secret);
    // Events of the disconnect may be lost: whatever was read before it is suspect.
    for (const handler of events.reconnect) handler();
    upstream.answer(keyPrincipal('key_b'));
    await first;
    expect(resolver.resolveKnown(secret)).toBeUndefined();

    // A lookup begun after the reconnect is cached as usual.
    const again = resolver.resolve(secret);
    upstream.answer(keyPrincipal('key_b'));
    await again;
    expect(resolver.resolveKnown(secret)).toMatchObject({ key_id: 'key_b' });
  });
});
