/**
 * The failed-authentication limit against the real Redis: counted before the check (a burst
 * cannot outrun it), shared by replicas, held per process when Redis is away, and by IPv6 /64.
 */
import { Redis } from 'ioredis';
import { cleanRedisPrefix, eventually, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { addressKey, AuthFailureLimiter } from './auth-failures';

const prefix = testQueuePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(TEST_ENV.redisUrl);
});

afterAll(async () => {
  redis.disconnect();
  await cleanRedisPrefix(prefix);
});

const limiter = (budget: number, connection: Redis = redis) =>
  new AuthFailureLimiter(connection, { budget, windowMs: 60_000, prefix });

describe('security: failed authentications per address', () => {
  it('lets through at most the budget of checks at once, before any of them failed', () => {
    const l = limiter(5);
    const admitted = Array.from({ length: 50 }, () => l.take('198.51.100.1')).filter(
      (wait) => wait === 0,
    );
    expect(admitted).toHaveLength(5);
    // Successes give their slot back; failures keep it for the window.
    l.settle('198.51.100.1', false);
    expect(l.take('198.51.100.1')).toBe(0);
    for (let i = 0; i < 5; i++) l.settle('198.51.100.1', true);
    const wait = l.take('198.51.100.1');
    expect(wait).toBeGreaterThanOrEqual(59);
    expect(wait).toBeLessThanOrEqual(60);
    // Another address is not concerned.
    expect(l.take('198.51.100.2')).toBe(0);
  });

  it('shares the count between replicas through Redis', async () => {
    const first = limiter(3);
    const second = limiter(3);
    const address = '198.51.100.10';
    for (let i = 0; i < 3; i++) {
      expect(first.take(address)).toBe(0);
      first.settle(address, true);
    }
    expect(first.take(address)).toBeGreaterThan(0);
    // The second replica has seen nothing: one check, whose failure brings back the count.
    expect(second.take(address)).toBe(0);
    second.settle(address, true);
    expect((await eventually(() => second.take(address) > 0, 2_000, 10)).ok).toBe(true);
    expect(await redis.get(`${prefix}:auth-failures:${address}`)).toBe('4');
    const ttl = await redis.pttl(`${prefix}:auth-failures:${address}`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('still holds an address to the budget when Redis cannot be reached', async () => {
    const away = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    away.on('error', () => undefined);
    try {
      const l = limiter(2, away);
      for (let i = 0; i < 2; i++) {
        expect(l.take('198.51.100.20')).toBe(0);
        l.settle('198.51.100.20', true);
      }
      await new Promise((r) => setTimeout(r, 20));
      expect(l.take('198.51.100.20')).toBeGreaterThan(0);
    } finally {
      away.disconnect();
    }
  });

  it('counts an IPv6 /64 as one address, and IPv4-mapped IPv6 as the IPv4 address', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0001:0002::5%eth0')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');

    const l = limiter(2);
    for (const ip of ['2001:db8:9:9::1', '2001:db8:9:9::2']) {
      expect(l.take(ip)).toBe(0);
      l.settle(ip, true);
    }
    expect(l.take('2001:db8:9:9:abcd::3')).toBeGreaterThan(0);
    expect(l.take('2001:db8:9:a::1')).toBe(0);
  });
});
