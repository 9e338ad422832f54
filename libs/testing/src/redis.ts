import { Redis } from 'ioredis';
import { TEST_ENV } from './env';

/** Deletes every key under a test's queue prefix. */
export async function cleanRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_ENV.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Every key under a test's queue prefix with everything it holds, as text: the name, then each
 * field, member, element or stream entry. For tests that look for what must never be in Redis.
 */
export async function dumpRedisPrefix(prefix: string): Promise<string[]> {
  const redis = new Redis(TEST_ENV.redisUrl);
  const out: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) out.push(key, ...(await valuesOf(redis, key)));
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return out;
}

async function valuesOf(redis: Redis, key: string): Promise<string[]> {
  switch (await redis.type(key)) {
    case 'string':
      return [(await redis.getBuffer(key))?.toString('latin1') ?? ''];
    case 'hash':
      return Object.entries(await redis.hgetall(key)).flat();
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, '0', '-1');
    case 'stream':
      return (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    default:
      return [];
  }
}
