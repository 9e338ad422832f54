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
