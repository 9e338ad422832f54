import { ChainableCommander, Redis, RedisOptions } from 'ioredis';

/**
 * A Redis connection for BullMQ. BullMQ needs `maxRetriesPerRequest: null` on blocking
 * connections; connection errors are left to BullMQ and the health checks to report.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...options,
  });
  // Without a listener ioredis prints every reconnect error; health checks report state instead.
  redis.on('error', () => undefined);
  return redis;
}

/** Whether Redis answers a PING within `timeoutMs`. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const pong = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs);
      }),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a MULTI and throws the first command error (ioredis reports them as values). */
export async function execOrThrow(tx: ChainableCommander): Promise<void> {
  const results = await tx.exec();
  if (!results) throw new Error('redis transaction aborted');
  for (const [err] of results) if (err) throw err;
}
