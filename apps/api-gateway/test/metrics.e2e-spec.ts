/**
 * `/metrics` on every app, through the booted platform: the HTTP series by route template and
 * status (unmatched paths under one label), the queue jobs each service handled, the usage
 * batches counted, Node's process series — and no secret anywhere in them.
 */
import { generateApiKey } from '@cap/auth';
import { sleep, Tenant, TestPlatform } from '@cap/testing';

let platform: TestPlatform;
let alice: Tenant;

beforeAll(async () => {
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { USAGE_FLUSH_MS: '200' },
  );
  alice = await platform.tenant('alice');
});

afterAll(async () => {
  await platform?.stop();
});

async function scrape(app: Parameters<TestPlatform['url']>[0]): Promise<string> {
  const res = await fetch(`${platform.url(app)}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

/** The value of one series (labels in any order), or undefined if it is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

const get = (path: string, key?: string) =>
  fetch(`${platform.url()}${path}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });

describe('/metrics', () => {
  it('counts the gateway requests by route template and status, unmatched ones under one label', async () => {
    const before = await scrape('api-gateway');
    const count = (text: string, route: string, status: string) =>
      sample(text, 'http_request_duration_seconds_count', {
        app: 'api-gateway',
        method: 'GET',
        route,
        status_code: status,
      }) ?? 0;

    for (let i = 0; i < 3; i++) expect((await get('/v1/regions', alice.secret)).status).toBe(200);
    expect((await get('/v1/regions')).status).toBe(401);
    expect((await get('/v1/projects/prj_doesNotExist', alice.secret)).status).toBe(404);
    expect((await get('/nowhere/a')).status).toBe(404);
    expect((await get('/nowhere/b')).status).toBe(404);

    const after = await scrape('api-gateway');
    expect(count(after, '/v1/regions', '200') - count(before, '/v1/regions', '200')).toBe(3);
    expect(count(after, '/v1/regions', '401') - count(before, '/v1/regions', '401')).toBe(1);
    expect(count(after, '/v1/projects/:id', '404') - count(before, '/v1/projects/:id', '404')).toBe(
      1,
    );
    // Paths no route matched share one series, so a scan cannot grow the label set.
    expect(count(after, '(unmatched)', '404') - count(before, '(unmatched)', '404')).toBe(2);
    expect(after).not.toMatch(/nowhere/);
    expect(sample(after, 'process_cpu_user_seconds_total', { app: 'api-gateway' })).toBeGreaterThan(
      0,
    );
    expect(sample(after, 'nodejs_eventloop_lag_seconds', { app: 'api-gateway' })).toBeDefined();
  });

  it('records the jobs projects-service handled, by outcome', async () => {
    const jobs = (text: string, job: string, outcome: string) =>
      sample(text, 'rpc_job_duration_seconds_count', {
        app: 'projects-service',
        queue: 'projects',
        job,
        outcome,
      }) ?? 0;
    const before = await scrape('projects-service');
    expect((await get('/v1/projects', alice.secret)).status).toBe(200);
    expect((await get('/v1/projects/prj_doesNotExist', alice.secret)).status).toBe(404);
    const after = await scrape('projects-service');
    expect(jobs(after, 'projects.list', 'ok') - jobs(before, 'projects.list', 'ok')).toBe(1);
    expect(
      jobs(after, 'projects.get', 'domain_error') - jobs(before, 'projects.get', 'domain_error'),
    ).toBe(1);
  });

  it('counts usage batches and the requests in them on the usage-worker', async () => {
    const counted = (text: string) =>
      sample(text, 'usage_requests_counted_total', { app: 'usage-worker' }) ?? 0;
    // Earlier tests' requests are flushed first: wait until the count holds still.
    const settled = async () => {
      let last = counted(await scrape('usage-worker'));
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const now = counted(await scrape('usage-worker'));
        if (now === last) return now;
        last = now;
      }
      throw new Error('usage_requests_counted_total did not settle');
    };
    const before = await settled();
    for (let i = 0; i < 4; i++) expect((await get('/v1/regions', alice.secret)).status).toBe(200);
    expect((await settled()) - before).toBe(4);
    const text = await scrape('usage-worker');
    expect(sample(text, 'usage_batches_total', { outcome: 'counted' })).toBeGreaterThan(0);
    expect(sample(text, 'usage_queue_jobs', { state: 'waiting' })).toBeGreaterThanOrEqual(0);
  });

  it("reports the gateway's data plane: credentials checked, leases asked, usage queued", async () => {
    const value = (text: string, name: string, labels: Record<string, string> = {}) =>
      sample(text, name, { app: 'api-gateway', ...labels }) ?? 0;
    const before = await scrape('api-gateway');
    // A well-formed key nobody issued: checked once with projects-service, then refused.
    expect((await get('/v1/regions', generateApiKey())).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await get('/v1/regions', alice.secret)).status).toBe(200);
    await sleep(600); // two metering flushes (USAGE_FLUSH_MS=200)
    const after = await scrape('api-gateway');
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);

    expect(delta('gateway_credential_checks_total', { kind: 'api_key', outcome: 'refused' })).toBe(
      1,
    );
    expect(
      value(after, 'gateway_credential_checks_total', { kind: 'api_key', outcome: 'accepted' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(after, 'gateway_rate_limit_leases_total', { outcome: 'granted' }),
    ).toBeGreaterThanOrEqual(1);
    expect(delta('gateway_usage_requests_queued_total')).toBeGreaterThanOrEqual(3);
    expect(delta('gateway_usage_batches_total', { outcome: 'queued' })).toBeGreaterThanOrEqual(1);
    expect(value(after, 'gateway_usage_batches_total', { outcome: 'failed' })).toBe(0);
    expect(sample(after, 'gateway_usage_requests_unsent', { app: 'api-gateway' })).toBeDefined();
  });

  it('is served by every app and carries no secret', async () => {
    const all = await Promise.all(
      (['api-gateway', 'auth-server', 'projects-service', 'usage-worker'] as const).map(scrape),
    );
    for (const text of all) {
      expect(text).toMatch(/^# HELP http_request_duration_seconds /m);
      expect(text).not.toContain(alice.secret);
      expect(text).not.toMatch(/sk_live_/);
    }
  });
});
