import { baseEnv, loadConfig } from '@cap/config';
import { bullQueueName, describeRedis, redisTarget } from './redis';

const env = (vars: Record<string, string>) => loadConfig(baseEnv, vars);

describe('redisTarget', () => {
  it('is REDIS_URL alone by default, with REDIS_USERNAME/REDIS_PASSWORD over its own', () => {
    expect(redisTarget(env({}))).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379' });
    expect(
      redisTarget(
        env({
          REDIS_URL: 'rediss://old:old@cache:6380/2',
          REDIS_USERNAME: 'cap-api-gateway',
          REDIS_PASSWORD: 'p@ss/word',
        }),
      ),
    ).toEqual({ mode: 'single', url: 'rediss://cap-api-gateway:p%40ss%2Fword@cache:6380/2' });
  });

  it('takes user, password, TLS and database from REDIS_URL in Sentinel mode', () => {
    expect(
      redisTarget(
        env({
          REDIS_URL: 'rediss://cap-usage-worker:s%40cret@ignored:1/3',
          REDIS_SENTINELS: 's1:26379,s2:26379',
          REDIS_SENTINEL_NAME: 'cap',
          REDIS_SENTINEL_PASSWORD: 'sentinels',
        }),
      ),
    ).toEqual({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'cap',
      sentinelPassword: 'sentinels',
      db: 3,
      username: 'cap-usage-worker',
      password: 's@cret',
      tls: true,
    });
  });

  it('is a Cluster when REDIS_CLUSTER_NODES is set, with the ACL user', () => {
    const target = redisTarget(
      env({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', REDIS_USERNAME: 'u', REDIS_PASSWORD: 'p' }),
    );
    expect(target).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      username: 'u',
      password: 'p',
      tls: false,
    });
    expect(describeRedis(target)).toBe('cluster n1:7000,n2:7001');
    expect(describeRedis('redis://u:secret@h:1')).toBe('redis://h:1');
  });

  it("hash-tags BullMQ's queue names", () => {
    expect(bullQueueName('projects')).toBe('{projects}');
  });
});
