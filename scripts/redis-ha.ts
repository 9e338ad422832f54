/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument --
   API answers (ApiResponse.json) are read field by field, as in the e2e specs. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { aclSetUserArgs, REDIS_SERVICES, RedisService } from '@cap/queue';
import {
  AppName,
  apiRequest,
  ApiResponse,
  Tenant,
  testQueuePrefix,
  TestPlatform,
} from '@cap/testing';

/**
 * The platform on a Redis beyond one node (Sentinel, Cluster): each app as its own Redis ACL
 * user (created on every data node: ACL users are not replicated), the journey, and steady load
 * through a failover. Shared by `scripts/redis-*.e2e-spec.ts`.
 */

const APPS: Array<AppName & RedisService> = [
  'projects-service',
  'auth-server',
  'usage-worker',
  'api-gateway',
];

/** One user per service, with a random name and password for this test file. */
export function haUsers(): Record<RedisService, { name: string; password: string }> {
  const tag = randomBytes(4).toString('hex');
  return Object.fromEntries(
    REDIS_SERVICES.map((s) => [
      s,
      { name: `t${tag}-${s}`, password: randomBytes(18).toString('hex') },
    ]),
  ) as Record<RedisService, { name: string; password: string }>;
}

/**
 * Boots the four apps on the Redis that `redisEnv` names (REDIS_SENTINELS…, or
 * REDIS_CLUSTER_NODES), each as its own ACL user, created first on every node by `onEveryNode`.
 */
export async function startHaPlatform(
  redisEnv: Record<string, string>,
  onEveryNode: (fn: (redis: Redis) => Promise<unknown>) => Promise<void>,
): Promise<TestPlatform> {
  const prefix = testQueuePrefix();
  const users = haUsers();
  await onEveryNode(async (redis) => {
    for (const service of REDIS_SERVICES) {
      const { name, password } = users[service];
      await redis.call('ACL', 'SETUSER', ...aclSetUserArgs(name, password, service, prefix));
    }
  });
  const credentials = (s: RedisService) => ({
    REDIS_USERNAME: users[s].name,
    REDIS_PASSWORD: users[s].password,
  });
  return TestPlatform.start(
    APPS,
    // The admin CLI (platform.admin) runs as the operator's user.
    { QUEUE_PREFIX: prefix, USAGE_FLUSH_MS: '200', ...redisEnv, ...credentials('admin') },
    Object.fromEntries(APPS.map((a) => [a, credentials(a)])),
  );
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Requests `key`'s usage for its project, once `complete_through` passes `after`. */
async function settledUsage(
  platform: TestPlatform,
  secret: string,
  project: string,
  after: number,
) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const q = new URLSearchParams({
      project_id: project,
      start: new Date(Date.now() - 30 * 60_000).toISOString(),
      end: new Date(Date.now() + 5 * 60_000).toISOString(),
      granularity: 'hour',
      group_by: 'key',
    });
    const res = await apiRequest(platform.url(), 'GET', `/v1/usage?${q.toString()}`, {
      token: secret,
    });
    if (res.status === 200 && Date.parse(res.json.complete_through) >= after) {
      return res.json as { data: { key: string; requests: number }[] };
    }
    if (Date.now() > deadline) throw new Error(`usage not settled: ${res.status} ${res.text}`);
    await sleep(200);
  }
}

/** Requests counted for key `keyId` so far (every request done before the call). */
export async function usageOf(platform: TestPlatform, tenant: Tenant, keyId: string) {
  const report = await settledUsage(platform, tenant.secret, tenant.project.id, Date.now());
  return report.data.filter((b) => b.key === keyId).reduce((n, b) => n + b.requests, 0);
}

/**
 * The journey through the platform: operator commands, API keys, authenticated, limited and
 * metered requests, usage counted, and a revocation that reaches the gateway by pub/sub.
 */
export async function runJourney(platform: TestPlatform, label: string): Promise<void> {
  const tenant = await platform.tenant(label);
  const base = platform.url();
  const call = (method: string, path: string, token: string, body?: unknown, headers = {}) =>
    apiRequest(base, method, path, { token, body, headers });

  const list = await call('GET', '/v1/projects', tenant.secret);
  expect(list.status).toBe(200);
  const listed = (list.json as { data: { id: string }[] }).data.map((p) => p.id);
  expect(listed).toContain(tenant.project.id);

  const idem = randomBytes(8).toString('hex');
  const created = await call(
    'POST',
    '/v1/projects',
    tenant.secret,
    { name: `${label}-two`, region: 'us-east' },
    { 'Idempotency-Key': idem },
  );
  expect(created.status).toBe(201);
  const replay = await call(
    'POST',
    '/v1/projects',
    tenant.secret,
    { name: `${label}-two`, region: 'us-east' },
    { 'Idempotency-Key': idem },
  );
  expect(replay.status).toBe(201);
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(replay.text).toBe(created.text);

  // A key of its own, limited to 3 requests a minute.
  const limitedKey = await call('POST', '/v1/keys', tenant.secret, {
    project_id: tenant.project.id,
    name: 'limited',
    rate_limit: 3,
  });
  expect(limitedKey.status).toBe(201);
  const limited: { id: string; secret: string } = limitedKey.json;
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await call('GET', '/v1/regions', limited.secret)).status);
  expect(statuses).toEqual([200, 200, 200, 429]);

  // Metered: the limited key's 4 requests, counted for its project.
  expect(await usageOf(platform, tenant, limited.id)).toBe(4);

  // Revocation by the operator: projects-service publishes, the gateway (which holds the key in
  // its cache) drops it within a second, far sooner than the cache's 60 s.
  const revokedAt = Date.now();
  await platform.admin(['revoke-key', '--key', limited.id]);
  let status = 0;
  for (let i = 0; i < 50 && status !== 401; i++) {
    status = (await call('GET', '/v1/regions', limited.secret)).status;
    if (status !== 401) await sleep(50);
  }
  expect(status).toBe(401);
  expect(Date.now() - revokedAt).toBeLessThan(10_000);
}

/** What one request under load got. */
interface Sample {
  at: number;
  status: number;
  /** The error object's code, when there was one. */
  code?: string;
  /** A response that breaks the contract (no error object, a 500, a network error). */
  bad?: string;
}

export interface FailoverReport {
  requests: number;
  byStatus: Record<string, number>;
  /** From the switch being asked for to the first failed request (negative: none). */
  firstErrorAfterMs: number;
  /** From the first to the last failed request: how long clients saw 503s. */
  outageMs: number;
  /** From the switch being asked for until every request succeeded again. */
  recoveryMs: number;
  /** Posts answered 201 (acknowledged writes), each found afterwards. */
  acknowledgedWrites: number;
  /** Requests made with the load key, and the usage counted for it. */
  sent: number;
  counted: number;
  /** Requests refused before the key could be checked again (not anyone's usage). */
  unattributed?: number;
}

/**
 * Requests this gateway has counted and queued for the usage-worker, once nothing counted is
 * left unsent (its metrics; `/metrics` itself is not metered).
 */
async function gatewayCounted(platform: TestPlatform): Promise<number> {
  const read = async () => {
    const text = await (await fetch(`${platform.url()}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return {
      queued: value('gateway_usage_requests_queued_total'),
      unsent: value('gateway_usage_requests_unsent'),
    };
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await read();
    if (now.unsent === 0 && Number.isFinite(now.queued)) return now.queued;
    if (Date.now() > deadline) throw new Error(`usage still unsent: ${JSON.stringify(now)}`);
    await sleep(100);
  }
}

/**
 * Steady bounded load (`workers` loops, each a request every `paceMs`: GETs through the projects
 * queue, every fifth a POST with an Idempotency-Key) through `failover()`. Every answer must be
 * a success or a `503` with the error object; requests must succeed again by themselves within
 * `recoverWithinMs`; every acknowledged project must exist afterwards, and the usage of the load
 * key must count every request made.
 */
export async function loadThroughFailover(
  platform: TestPlatform,
  failover: () => Promise<unknown>,
  options: { workers?: number; paceMs?: number; recoverWithinMs?: number; label: string },
): Promise<FailoverReport> {
  const workers = options.workers ?? 4;
  const paceMs = options.paceMs ?? 25;
  const recoverWithinMs = options.recoverWithinMs ?? 20_000;
  const tenant = await platform.tenant(options.label);
  await platform.admin(['set-project-limit', '--project', tenant.project.id, '--limit', '1000000']);
  const made = await apiRequest(platform.url(), 'POST', '/v1/keys', {
    token: tenant.secret,
    body: { project_id: tenant.project.id, name: 'load', rate_limit: 1_000_000 },
  });
  expect(made.status).toBe(201);
  const load: { id: string; secret: string } = made.json;
  // Cached by the gateway before the switch: authentication needs no Redis under load.
  expect(
    (await apiRequest(platform.url(), 'GET', '/v1/projects', { token: load.secret })).status,
  ).toBe(200);
  let sent = 1;
  const countedBefore = await gatewayCounted(platform);

  const samples: Sample[] = [];
  const acknowledged: string[] = [];
  let stop = false;
  const hardDeadline = Date.now() + 60_000;
  const worker = async (w: number) => {
    for (let i = 0; !stop && i < 5_000 && Date.now() < hardDeadline; i++) {
      const post = i % 5 === 4;
      const started = Date.now();
      let res: ApiResponse | undefined;
      let bad: string | undefined;
      try {
        res = post
          ? await apiRequest(platform.url(), 'POST', '/v1/projects', {
              token: load.secret,
              body: { name: `load-${w}-${i}`, region: 'us-east' },
              headers: { 'Idempotency-Key': randomBytes(8).toString('hex') },
              timeoutMs: 10_000,
            })
          : await apiRequest(platform.url(), 'GET', '/v1/projects?limit=1', {
              token: load.secret,
              timeoutMs: 10_000,
            });
      } catch (err) {
        bad = `request failed: ${String(err)}`;
      }
      sent += 1;
      const sample: Sample = { at: started, status: res?.status ?? 0, bad };
      if (res && res.status >= 300) {
        sample.code = res.json?.error?.code;
        const shaped =
          typeof res.json?.error?.code === 'string' &&
          typeof res.json?.error?.message === 'string' &&
          typeof res.json?.error?.request_id === 'string';
        if (res.status !== 503 || !shaped) sample.bad = `${res.status} ${res.text.slice(0, 200)}`;
      }
      if (res?.status === 201) acknowledged.push(res.json.id);
      samples.push(sample);
      await sleep(Math.max(0, paceMs - (Date.now() - started)));
    }
  };
  const running = Array.from({ length: workers }, (_, w) => worker(w));

  await sleep(2_000);
  const switchAt = Date.now();
  await failover();
  // Until every request has succeeded for 3 s in a row, or the bound.
  const okSince = () => {
    const failed = samples.filter((s) => s.status < 200 || s.status >= 300);
    return failed.length ? failed[failed.length - 1].at : switchAt;
  };
  while (
    Date.now() - switchAt < recoverWithinMs &&
    Date.now() - Math.max(okSince(), switchAt) < 3_000
  ) {
    await sleep(100);
  }
  stop = true;
  await Promise.all(running);

  const failed = samples.filter(
    (s) => s.at >= switchAt - 500 && (s.status < 200 || s.status >= 300),
  );
  const firstErrorAt = failed.length ? failed[0].at : switchAt;
  const lastErrorAt = failed.length ? failed[failed.length - 1].at : switchAt;
  const byStatus: Record<string, number> = {};
  for (const s of samples) {
    const k = s.code ? `${s.status} ${s.code}` : String(s.status);
    byStatus[k] = (byStatus[k] ?? 0) + 1;
  }
  const report: FailoverReport = {
    requests: samples.length,
    byStatus,
    firstErrorAfterMs: failed.length ? firstErrorAt - switchAt : -1,
    outageMs: failed.length ? lastErrorAt - firstErrorAt : 0,
    recoveryMs: lastErrorAt - switchAt,
    acknowledgedWrites: acknowledged.length,
    sent,
    counted: -1,
  };
  process.stdout.write(`${options.label}: ${JSON.stringify(report)}\n`);
  const bad = samples.filter((s) => s.bad).map((s) => s.bad);
  expect(bad.slice(0, 5)).toEqual([]);
  // Recovered by itself: the last 2 s of samples all succeeded.
  const tail = samples.filter((s) => s.at > Date.now() - 2_000);
  expect(tail.length).toBeGreaterThan(0);
  expect(tail.every((s) => s.status >= 200 && s.status < 300)).toBe(true);

  // What the gateway counted of the load, before anything else is sent.
  const countedAfter = await gatewayCounted(platform);

  // Every acknowledged write is there.
  const found = new Set<string>();
  let after: string | undefined;
  for (let page = 0; page < 100; page++) {
    const q = `/v1/projects?limit=100${after ? `&starting_after=${after}` : ''}`;
    const res = await apiRequest(platform.url(), 'GET', q, { token: tenant.secret });
    expect(res.status).toBe(200);
    for (const p of res.json.data as { id: string }[]) found.add(p.id);
    if (!res.json.has_more) break;
    after = res.json.data[res.json.data.length - 1].id;
  }
  expect(acknowledged.filter((id) => !found.has(id))).toEqual([]);

  // Every request the gateway counted (all of them the load key's: nothing else is sent now) is
  // stored, none twice; every success among them. A 503 before authentication (the key cache
  // is cleared when the event subscription comes back) is nobody's usage.
  // complete_through can pass a batch that is waiting for its retry (a later one went first):
  // give such a batch its retry.
  let counted = await usageOf(platform, tenant, load.id);
  for (let i = 0; i < 40 && counted !== 1 + countedAfter - countedBefore; i++) {
    await sleep(500);
    counted = await usageOf(platform, tenant, load.id);
  }
  if (counted !== 1 + countedAfter - countedBefore) {
    const m = await (await fetch(`${platform.url('usage-worker')}/metrics`)).text();
    process.stdout.write(
      `${m
        .split('\n')
        .filter((l) => /^usage_/.test(l))
        .join('\n')}\n`,
    );
  }
  expect(counted).toBe(1 + countedAfter - countedBefore);
  const successes = samples.filter((s) => s.status >= 200 && s.status < 300).length;
  expect(counted).toBeGreaterThanOrEqual(1 + successes);
  expect(counted).toBeLessThanOrEqual(sent);

  report.counted = counted;
  report.unattributed = sent - counted;
  return report;
}
