/**
 * Each service as its own Redis ACL user (libs/queue/src/redis-acl.ts), on the real Redis: the
 * users are created under this file's queue prefix with unique names (and deleted after), the
 * platform boots with each app as its user and the admin CLI as the operator's, the journey
 * works, and the gateway's user cannot reach the admin queues or anyone else's keys.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { newApiKey } from '@cap/auth';
import { CHANNELS, DomainError, ProjectsJobs, QUEUES } from '@cap/contracts';
import { aclSetUserArgs, REDIS_SERVICES, RedisService, requestKey, RpcClient } from '@cap/queue';
import { apiRequest, TEST_ENV, testQueuePrefix, TestPlatform } from '@cap/testing';

const prefix = testQueuePrefix();
const tag = randomBytes(4).toString('hex');
const users = Object.fromEntries(
  REDIS_SERVICES.map((s) => [
    s,
    { name: `t${tag}-${s}`, password: randomBytes(18).toString('hex') },
  ]),
) as Record<RedisService, { name: string; password: string }>;

/** The Redis URL of `service`'s user. */
function urlOf(service: RedisService): string {
  const url = new URL(TEST_ENV.redisUrl);
  url.username = users[service].name;
  url.password = users[service].password;
  return url.toString();
}

let platform: TestPlatform;
const root = new Redis(TEST_ENV.redisUrl);

beforeAll(async () => {
  for (const service of REDIS_SERVICES) {
    const { name, password } = users[service];
    await root.call('ACL', 'SETUSER', ...aclSetUserArgs(name, password, service, prefix));
  }
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'api-gateway', 'usage-worker'],
    // The admin CLI (platform.admin) runs as the operator's user.
    { QUEUE_PREFIX: prefix, REDIS_URL: urlOf('admin') },
    {
      'api-gateway': { REDIS_URL: urlOf('api-gateway') },
      'auth-server': { REDIS_URL: urlOf('auth-server') },
      'projects-service': { REDIS_URL: urlOf('projects-service') },
      'usage-worker': { REDIS_URL: urlOf('usage-worker') },
    },
  );
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  for (const service of REDIS_SERVICES) await root.call('ACL', 'DELUSER', users[service].name);
  root.disconnect();
});

describe('security: every service as its own Redis user', () => {
  it('runs the journey: operator commands, API keys, the API, OAuth discovery', async () => {
    const tenant = await platform.tenant('acl');
    const projects = await apiRequest(platform.url(), 'GET', '/v1/projects', {
      token: tenant.secret,
    });
    expect(projects.status).toBe(200);
    // With an Idempotency-Key: the gateway's user keeps the sealed record.
    const created = await apiRequest(platform.url(), 'POST', '/v1/keys', {
      token: tenant.secret,
      body: { project_id: tenant.project.id, name: 'second' },
      headers: { 'Idempotency-Key': randomBytes(8).toString('hex') },
    });
    expect(created.status).toBe(201);
    const second = (created.json as { secret: string }).secret;
    expect((await apiRequest(platform.url(), 'GET', '/v1/user', { token: second })).status).toBe(
      200,
    );
    const revoked = await platform.admin<{ revoked_at: string | null }>([
      'revoke-key',
      '--key',
      tenant.key.id,
    ]);
    expect(revoked.revoked_at).not.toBeNull();
    // A refused credential is counted in Redis under the gateway's own user.
    const refused = await apiRequest(platform.url(), 'GET', '/v1/projects', {
      token: newApiKey().secret,
    });
    expect(refused.status).toBe(401);
    expect(await root.keys(`${platform.env.QUEUE_PREFIX}:auth-failures:*`)).not.toEqual([]);
    expect(await root.keys(`${platform.env.QUEUE_PREFIX}:idem:*`)).not.toEqual([]);
    const discovery = await fetch(
      `${platform.url('auth-server')}/.well-known/openid-configuration`,
    );
    expect(discovery.status).toBe(200);
  });

  it("the gateway's user is refused (NOPERM) adding a call to an admin queue", async () => {
    const gateway = new Redis(urlOf('api-gateway'), { maxRetriesPerRequest: 1 });
    try {
      const { secret: _secret, ...stored } = newApiKey();
      const payload = JSON.stringify({ v: 1, project_id: 'prj_x', name: 'minted', ...stored });
      for (const queue of [QUEUES.adminProjects, QUEUES.adminIdentity]) {
        await expect(
          gateway.xadd(
            requestKey(prefix, queue),
            '*',
            'n',
            'admin.keys.create',
            'p',
            payload,
            'c',
            'x',
            'i',
            'y',
            't',
            '5000',
          ),
        ).rejects.toThrow(/NOPERM/);
      }
      // Nor anyone else's keys, nor commands beyond its keys.
      await expect(gateway.get(`${prefix}:oidc:Session:x`)).rejects.toThrow(/NOPERM/);
      await expect(gateway.set(`${prefix}:revoked:jti:x`, '1')).rejects.toThrow(/NOPERM/);
      await expect(gateway.keys('*')).rejects.toThrow(/NOPERM/);
      await expect(gateway.flushall()).rejects.toThrow(/NOPERM/);
      await expect(gateway.get(`other:rl:{x}`)).rejects.toThrow(/NOPERM/);
    } finally {
      gateway.disconnect();
    }
  });

  it("only a channel's owner may publish on it: nobody else can forge a revocation", async () => {
    const connect = (service: RedisService) => {
      const redis = new Redis(urlOf(service), { maxRetriesPerRequest: 1 });
      redis.on('error', () => undefined);
      return redis;
    };
    const channel = (name: string) => `${prefix}:${name}`;
    const forbidden: [RedisService, string][] = [
      // The gateways only listen; a compromised one must not revoke for every other.
      ['api-gateway', CHANNELS.keyRevoked],
      ['api-gateway', CHANNELS.tokenRevoked],
      ['api-gateway', CHANNELS.signingKeysChanged],
      // Each service publishes its own revocations only.
      ['projects-service', CHANNELS.tokenRevoked],
      ['auth-server', CHANNELS.keyRevoked],
      ['usage-worker', CHANNELS.keyRevoked],
      ['usage-worker', CHANNELS.tokenRevoked],
      ['admin', CHANNELS.keyRevoked],
    ];
    const listener = connect('api-gateway');
    const heard: string[] = [];
    listener.on('message', (c: string) => heard.push(c));
    const clients: Redis[] = [listener];
    try {
      await listener.subscribe(channel(CHANNELS.keyRevoked), channel(CHANNELS.tokenRevoked));
      for (const [service, name] of forbidden) {
        const client = connect(service);
        clients.push(client);
        await expect(client.publish(channel(name), '{"v":1}')).rejects.toThrow(/NOPERM/);
      }
      // Nor may a service listen where it has no business.
      const sneaky = connect('usage-worker');
      clients.push(sneaky);
      await expect(sneaky.subscribe(channel(CHANNELS.tokenRevoked))).rejects.toThrow(/NOPERM/);
      // The owners may, and the gateway hears them.
      const projects = connect('projects-service');
      const auth = connect('auth-server');
      clients.push(projects, auth);
      // Well-formed events naming nothing (the platform's own apps hear them too).
      const none = '{"v":1,"key_ids":[],"jtis":[],"grant_ids":[]}';
      // This listener and the platform's gateway.
      expect(await projects.publish(channel(CHANNELS.keyRevoked), none)).toBeGreaterThanOrEqual(2);
      expect(await auth.publish(channel(CHANNELS.tokenRevoked), none)).toBeGreaterThanOrEqual(2);
      // The auth-server hears its own.
      expect(await auth.publish(channel(CHANNELS.signingKeysChanged), '{"v":1}')).toBe(1);
      const deadline = Date.now() + 5_000;
      while (heard.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard.sort()).toEqual([channel(CHANNELS.keyRevoked), channel(CHANNELS.tokenRevoked)]);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('an admin. job put on a public queue is refused by the service (forbidden)', async () => {
    const tenant = await platform.tenant('public-admin');
    // The gateway's user may write the public queue; the job name is the operator's.
    const rpc = new RpcClient<ProjectsJobs>({
      queue: QUEUES.projects,
      prefix,
      redisUrl: urlOf('api-gateway'),
      timeoutMs: 10_000,
    });
    try {
      await rpc.ready();
      const { secret: _secret, ...stored } = newApiKey();
      const minted = rpc.call('admin.keys.create', {
        v: 1,
        project_id: tenant.project.id,
        name: 'minted',
        ...stored,
      });
      await expect(minted).rejects.toBeInstanceOf(DomainError);
      await expect(minted).rejects.toMatchObject({ code: 'forbidden' });
    } finally {
      await rpc.close();
    }
  });
});
