/**
 * Metering and the usage API through the booted apps: every request counted exactly once,
 * also across a usage-worker killed with SIGKILL and a gateway stopped with SIGTERM under load;
 * query validation and tenant isolation.
 */
import { Tenant, TestPlatform } from '@cap/testing';

let platform: TestPlatform;
let alice: Tenant;
let bob: Tenant;
const t0 = new Date(Date.now() - 5 * 60_000).toISOString();

beforeAll(async () => {
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { USAGE_FLUSH_MS: '200' },
  );
  [alice, bob] = await Promise.all([platform.tenant('alice'), platform.tenant('bob')]);
  // Room for bob's burst key below (a key's limit may not exceed its project's).
  await platform.admin(['set-project-limit', '--project', bob.project.id, '--limit', '1000000']);
});

afterAll(async () => {
  await platform?.stop();
});

async function api(path: string, key: string, base = platform.url()) {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any };
}

function usagePath(project: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams({
    project_id: project,
    start: t0,
    end: new Date(Date.now() + 5 * 60_000).toISOString(),
    granularity: 'minute',
    ...params,
  });
  return `/v1/usage?${q.toString()}`;
}

/** Waits until the usage API says it is complete through `after`, then returns the report. */
async function settledUsage(key: string, project: string, after: number, params = {}) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api(usagePath(project, params), key);
    expect(res.status).toBe(200);
    if (Date.parse(res.body.complete_through) >= after || Date.now() > deadline) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('counting', () => {
  it('counts each request once, by status, endpoint and key', async () => {
    const before = await settledUsage(alice.secret, alice.project.id, Date.now());
    for (let i = 0; i < 25; i++) expect((await api('/v1/regions', alice.secret)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      expect((await api('/v1/projects?limit=0', alice.secret)).status).toBe(400);
    }
    // The usage queries themselves are requests too: compare within one settled report.
    const after = await settledUsage(alice.secret, alice.project.id, Date.now() + 1);
    const byEndpoint = await settledUsage(alice.secret, alice.project.id, Date.now(), {
      group_by: 'endpoint',
    });
    const regions = byEndpoint.data
      .filter((b: any) => b.endpoint === 'GET /v1/regions')
      .reduce((n: number, b: any) => n + b.requests, 0);
    // Nothing else of alice's called /v1/regions: exactly the 25 above.
    expect(regions).toBe(25);
    const projects400 = byEndpoint.data
      .filter((b: any) => b.endpoint === 'GET /v1/projects')
      .reduce((n: number, b: any) => n + b.requests, 0);
    expect(projects400).toBe(5);
    // 25 + 5 + the usage queries made between the two reports.
    expect(after.total_requests - before.total_requests).toBeGreaterThanOrEqual(30);

    const byStatus = await settledUsage(alice.secret, alice.project.id, Date.now(), {
      group_by: 'status',
    });
    const statuses = new Set(byStatus.data.map((b: any) => b.status));
    expect(statuses).toEqual(new Set(['2xx', '4xx']));

    const byKey = await settledUsage(alice.secret, alice.project.id, Date.now(), {
      group_by: 'key',
    });
    expect(new Set(byKey.data.map((b: any) => b.key))).toEqual(new Set([alice.key.id]));
  });

  it('returns every bucket of the range, zeros included, without group_by', async () => {
    const report = await settledUsage(alice.secret, alice.project.id, Date.now(), {
      granularity: 'minute',
    });
    const first = Math.floor(Date.parse(t0) / 60_000) * 60_000;
    expect(report.data.length).toBe(Math.ceil((Date.parse(report.end) - first) / 60_000));
    expect(report.data[0].start).toBe(new Date(first).toISOString().replace('.000Z', 'Z'));
    expect(report.data.every((b: any) => typeof b.requests === 'number')).toBe(true);
    expect(report.data.reduce((n: number, b: any) => n + b.requests, 0)).toBe(
      report.total_requests,
    );
    expect(report.granularity).toBe('minute');
    expect(report.group_by).toBeNull();
    expect(report.complete_through).toMatch(/Z$/);
  });

  it('holds no bucket at or past the end it states, when asked for an end within a second', async () => {
    // Half a second past a minute: the answer says the range ends at that whole second.
    const end = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 500).toISOString();
    const res = await api(usagePath(alice.project.id, { end }), alice.secret);
    expect(res.status).toBe(200);
    expect(res.body.end).toBe(end.replace('.500Z', 'Z'));
    const starts = res.body.data.map((b: any) => Date.parse(b.start));
    expect(Math.max(...starts)).toBeLessThan(Date.parse(res.body.end));
    const first = Math.floor(Date.parse(t0) / 60_000) * 60_000;
    expect(res.body.data.length).toBe(Math.ceil((Date.parse(res.body.end) - first) / 60_000));
  });
});

describe('validation and isolation', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['start after end', { start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' }, 'end'],
    ['unparsable start', { start: 'yesterday' }, 'start'],
    ['unknown granularity', { granularity: 'week' }, 'granularity'],
    ['unknown group', { group_by: 'colour' }, 'group_by'],
    [
      'too many buckets',
      { start: '2020-01-01T00:00:00Z', end: '2026-01-01T00:00:00Z', granularity: 'minute' },
      'granularity',
    ],
  ];
  it.each(cases)('%s → 400 with param %s', async (_name, params, param) => {
    const res = await api(usagePath(alice.project.id, params), alice.secret);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param });
  });

  it('another tenant’s project is 404', async () => {
    const res = await api(usagePath(alice.project.id), bob.secret);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('project_not_found');
  });
});

describe('exactly once under failures', () => {
  /** A key of bob's whose limit the bursts below cannot reach. */
  async function unlimitedKey(): Promise<{ id: string; secret: string }> {
    const res = await fetch(`${platform.url()}/v1/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bob.secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ project_id: bob.project.id, name: 'burst', rate_limit: 1_000_000 }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; secret: string };
  }

  /** Requests counted for one key (every status), once the report is settled. */
  async function countedFor(keyId: string): Promise<number> {
    const report = await settledUsage(bob.secret, bob.project.id, Date.now(), { group_by: 'key' });
    return report.data
      .filter((b: any) => b.key === keyId)
      .reduce((n: number, b: any) => n + b.requests, 0);
  }

  async function eventually(keyId: string, expected: number): Promise<number> {
    const deadline = Date.now() + 30_000;
    let counted = await countedFor(keyId);
    while (counted !== expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      counted = await countedFor(keyId);
    }
    return counted;
  }

  async function burst(key: string, count: number, base = platform.url()) {
    let ok = 0;
    await Promise.all(
      Array.from({ length: 10 }, async (_, w) => {
        for (let i = w; i < count; i += 10) {
          const res = await fetch(`${base}/v1/regions`, {
            headers: { Authorization: `Bearer ${key}` },
          })
            .then((r) => r.status)
            .catch(() => 0);
          if (res === 200) ok++;
        }
      }),
    );
    return ok;
  }

  it('is exact after the usage worker is killed with SIGKILL mid-stream', async () => {
    const key = await unlimitedKey();
    const load = burst(key.secret, 400);
    await new Promise((r) => setTimeout(r, 150));
    platform.apps.get('usage-worker')!.process.kill('SIGKILL');
    const ok = await load;
    expect(ok).toBe(400);
    platform.apps.set('usage-worker', await platform.startApp('usage-worker'));
    expect(await eventually(key.id, ok)).toBe(ok);
  });

  it('is exact after a gateway is stopped with SIGTERM under load', async () => {
    const key = await unlimitedKey();
    const doomed = await platform.startApp('api-gateway', { USAGE_FLUSH_MS: '5000' });
    const load = burst(key.secret, 2_000, doomed.url);
    await new Promise((r) => setTimeout(r, 300));
    expect(await doomed.stop()).toBe(0);
    const ok = await load;
    expect(ok).toBeGreaterThan(0);
    // Every request it answered was counted and queued before it exited: nothing more, no less.
    expect(await eventually(key.id, ok)).toBe(ok);
  });
});
