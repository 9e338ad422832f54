import { ChainableCommander, Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { RedisEnv } from '@cap/config';

/** A connection to the platform's Redis: one node or a Sentinel primary (`Redis`), or a Cluster. */
export type RedisClient = Redis | Cluster;

export interface HostPort {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
  /** `rediss://` in REDIS_URL: TLS to every node (and to the sentinels). */
  tls: boolean;
}

/**
 * Where Redis is: a URL (one node), a Sentinel-watched primary, or a Cluster. Built once from
 * the environment by `redisTarget`; every connection of every app is made from it by
 * `createRedis`. A bare string is a single-node URL (tests, scripts).
 */
export type RedisTarget =
  | string
  | { mode: 'single'; url: string }
  | ({
      mode: 'sentinel';
      sentinels: HostPort[];
      name: string;
      sentinelPassword?: string;
      db: number;
    } & Credentials)
  | ({ mode: 'cluster'; nodes: HostPort[] } & Credentials);

/**
 * The Redis an app's environment names: REDIS_CLUSTER_NODES (Cluster), else REDIS_SENTINELS +
 * REDIS_SENTINEL_NAME (Sentinel), else REDIS_URL. The ACL user and password are REDIS_USERNAME
 * and REDIS_PASSWORD, else REDIS_URL's; in the Sentinel and Cluster modes REDIS_URL gives only
 * those, `rediss:` (TLS) and the database number.
 */
export function redisTarget(env: RedisEnv): RedisTarget {
  const url = new URL(env.REDIS_URL);
  const credentials: Credentials = {
    username: env.REDIS_USERNAME ?? (decodeURIComponent(url.username) || undefined),
    password: env.REDIS_PASSWORD ?? (decodeURIComponent(url.password) || undefined),
    tls: url.protocol === 'rediss:',
  };
  if (env.REDIS_CLUSTER_NODES?.length) {
    return { mode: 'cluster', nodes: env.REDIS_CLUSTER_NODES, ...credentials };
  }
  if (env.REDIS_SENTINELS?.length && env.REDIS_SENTINEL_NAME) {
    return {
      mode: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD,
      db: Number(url.pathname.slice(1) || 0),
      ...credentials,
    };
  }
  if (env.REDIS_USERNAME !== undefined) url.username = encodeURIComponent(env.REDIS_USERNAME);
  if (env.REDIS_PASSWORD !== undefined) url.password = encodeURIComponent(env.REDIS_PASSWORD);
  return { mode: 'single', url: url.toString() };
}

/** A short description of `target` for logs, without secrets. */
export function describeRedis(target: RedisTarget): string {
  if (typeof target === 'string' || target.mode === 'single') {
    const url = new URL(typeof target === 'string' ? target : target.url);
    return `${url.protocol}//${url.host}`;
  }
  if (target.mode === 'sentinel') {
    return `sentinel ${target.name} via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }
  return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/** Whether `target` is a Redis Cluster. */
export function isClusterTarget(target: RedisTarget): boolean {
  return typeof target !== 'string' && target.mode === 'cluster';
}

/**
 * A replica that was the primary answers writes with READONLY until the client reconnects to
 * the new one (Sentinel reconfigures it; a client with a slow failure detection may still be
 * there): reconnect and send the command again.
 */
function reconnectOnReadonly(err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false;
}

/**
 * A Redis connection made from `target`, the one factory of every connection the platform
 * opens (BullMQ queues and workers, request/reply, pub/sub, rate limits, idempotency,
 * counters). Defaults fit BullMQ (`maxRetriesPerRequest: null` on blocking connections);
 * `options` override them. Connection errors are left to the callers and the health checks.
 *
 * On a Cluster, `options` apply to each node connection, except `enableOfflineQueue` and
 * `enableReadyCheck`, which are the cluster's own.
 */
export function createRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const defaults: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
  };
  let redis: RedisClient;
  if (typeof target === 'string' || target.mode === 'single') {
    redis = new Redis(typeof target === 'string' ? target : target.url, {
      ...defaults,
      ...options,
    });
  } else if (target.mode === 'sentinel') {
    redis = new Redis({
      ...defaults,
      sentinels: target.sentinels,
      name: target.name,
      sentinelPassword: target.sentinelPassword,
      username: target.username,
      password: target.password,
      db: target.db,
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // Told by the sentinels of a new primary at once (+switch-master), not at the next error.
      failoverDetector: true,
      reconnectOnError: reconnectOnReadonly,
      ...options,
    });
  } else {
    const { enableOfflineQueue, enableReadyCheck, lazyConnect, ...nodeOptions } = {
      ...defaults,
      ...options,
    };
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: enableOfflineQueue ?? true,
      enableReadyCheck: enableReadyCheck ?? true,
      lazyConnect: lazyConnect ?? false,
      // While a primary fails over its slots answer CLUSTERDOWN / TRYAGAIN, or nothing: retry
      // soon, and learn the new layout as soon as it exists.
      retryDelayOnClusterDown: 100,
      retryDelayOnFailover: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2000,
      slotsRefreshInterval: 5000,
      redisOptions: {
        ...nodeOptions,
        username: target.username,
        password: target.password,
        ...(target.tls ? { tls: {} } : {}),
        reconnectOnError: reconnectOnReadonly,
      },
    };
    redis = new Cluster(target.nodes, clusterOptions);
  }
  // Without a listener ioredis prints every reconnect error; health checks report state instead.
  redis.on('error', () => undefined);
  return redis;
}

/** Whether Redis answers a PING within `timeoutMs`. */
export async function pingRedis(redis: RedisClient, timeoutMs = 1000): Promise<boolean> {
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

/**
 * Runs a MULTI and throws the first command error (ioredis reports them as values). On a
 * Cluster every key of one MULTI must be in one slot: hash-tag them (`{…}`).
 */
export async function execOrThrow(tx: ChainableCommander): Promise<void> {
  const results = await tx.exec();
  if (!results) throw new Error('redis transaction aborted');
  for (const [err] of results) if (err) throw err;
}

/**
 * BullMQ's name of a platform queue: `{<queue>}`, so every key of the queue
 * (`<prefix>:{<queue>}:…`) is in one Cluster slot, as BullMQ's scripts need.
 */
export function bullQueueName(queue: string): string {
  return `{${queue}}`;
}
