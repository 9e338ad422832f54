/**
 * Forged keys against the booted platform (issue 10, item 6). Anyone can mint a well-formed key
 * (the checksum is public): a flood of unique ones must cost projects-service no more than the
 * budget of failures of its address, leave valid keys served from the cache at their normal
 * rate, and leave other addresses alone. Requests come from distinct loopback addresses
 * (127.0.0.2, 127.0.0.3: all of 127/8 is local on Linux), so the gateway sees distinct clients.
 */
import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { generateApiKey } from '@cap/auth';
import {
  ApiResponse,
  apiRequest,
  eventually,
  expectError,
  RunningApp,
  Tenant,
  TestPlatform,
} from '@cap/testing';

const BUDGET = 60;
const FLOOD = '127.0.0.2';
const OTHER = '127.0.0.3';

let platform: TestPlatform;
let tenant: Tenant;
let secondKey: string;

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server', 'api-gateway'], {
    AUTH_FAILURES_PER_MINUTE: String(BUDGET),
  });
  tenant = await platform.tenant('forged');
  const created = await apiRequest(platform.url(), 'POST', '/v1/keys', {
    token: tenant.secret,
    body: { project_id: tenant.project.id, name: 'second' },
  });
  expect(created.status).toBe(201);
  secondKey = (created.json as { secret: string }).secret;
});

afterAll(async () => {
  for (const agent of agents.values()) agent.destroy();
  await platform?.stop();
});

/** One keep-alive pool per source address, so a flood does not open 5,000 connections. */
const agents = new Map<string, Agent>();

/** `GET path` from the local address `from`, with `token` as the bearer credential. */
function getFrom(
  base: string,
  from: string,
  token: string,
  path = '/v1/regions',
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  let agent = agents.get(from);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 32 });
    agents.set(from, agent);
  }
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        localAddress: from,
        agent,
        headers: { authorization: `Bearer ${token}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: toHeaders(res.headers), text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      headers.append(name, v);
    }
  }
  return headers;
}

async function scrape(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

/** The value of one series (labels in any order), 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(match[3]);
  }
  return 0;
}

const keyChecks = (text: string, outcome: string) =>
  sample(text, 'gateway_credential_checks_total', { kind: 'api_key', outcome });
const authenticateJobs = (text: string) =>
  sample(text, 'rpc_job_duration_seconds_count', {
    app: 'projects-service',
    job: 'keys.authenticate',
    outcome: 'ok',
  });

/** Just the contract of a refusal: status, code and message (the request id always differs). */
const refusal = (res: ApiResponse) => ({
  status: res.status,
  error: { ...(res.json as { error: Record<string, unknown> }).error, request_id: undefined },
});

describe('security: a flood of forged keys', () => {
  it('gets 429 past its budget before any lookup; valid keys stay cached, other addresses unaffected', async () => {
    // Both valid keys are in the gateway's cache, used from the flooding address and another.
    for (const key of [tenant.secret, secondKey]) {
      expect((await getFrom(platform.url(), FLOOD, key)).status).toBe(200);
    }
    expect((await getFrom(platform.url(), OTHER, tenant.secret)).status).toBe(200);
    const gatewayBefore = await scrape(platform.url());
    const projectsBefore = await scrape(platform.url('projects-service'));

    // 5,000 unique forged keys from one address, 32 at a time; valid keys from the same
    // address (one NAT) and from another interleaved with them.
    const statuses = new Map<number, number>();
    const valid: Array<{ key: string; res: ApiResponse }> = [];
    let next = 0;
    const workers = Array.from({ length: 32 }, async () => {
      while (next < 5_000) {
        const i = next++;
        const res = await getFrom(platform.url(), FLOOD, generateApiKey());
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (i % 50 === 0) {
          const key = i % 100 === 0 ? tenant.secret : secondKey;
          valid.push({ key, res: await getFrom(platform.url(), FLOOD, key) });
          valid.push({ key, res: await getFrom(platform.url(), OTHER, key) });
        }
      }
    });
    await Promise.all(workers);

    // Exactly the budget was looked up and refused; every other forged key got 429 unasked.
    expect(Object.fromEntries(statuses)).toEqual({ 401: BUDGET, 429: 5_000 - BUDGET });
    const gatewayAfter = await scrape(platform.url());
    const projectsAfter = await scrape(platform.url('projects-service'));
    expect(keyChecks(gatewayAfter, 'refused') - keyChecks(gatewayBefore, 'refused')).toBe(BUDGET);
    expect(authenticateJobs(projectsAfter) - authenticateJobs(projectsBefore)).toBe(BUDGET);
    expect(
      sample(gatewayAfter, 'gateway_auth_throttled_total') -
        sample(gatewayBefore, 'gateway_auth_throttled_total'),
    ).toBe(5_000 - BUDGET);

    // The valid keys: all served, none looked up again (still cached), each charged only for
    // its own requests.
    expect(valid).toHaveLength(200);
    expect(valid.filter(({ res }) => res.status !== 200)).toEqual([]);
    expect(keyChecks(gatewayAfter, 'accepted') - keyChecks(gatewayBefore, 'accepted')).toBe(0);
    for (const key of [tenant.secret, secondKey]) {
      const used = valid.filter((v) => v.key === key);
      const remaining = used.map((v) => Number(v.res.headers.get('ratelimit-remaining')));
      const lowest = Math.min(...remaining);
      // Spent before: the key creation (tenant's key) and the requests that cached them.
      const before = key === tenant.secret ? 3 : 1;
      expect(lowest).toBe(600 - before - used.length);
    }

    // The flooding address: the error object and Retry-After, for any credential not cached
    // as valid, malformed ones too, whatever X-Forwarded-For it claims (no proxy is trusted).
    for (const token of [generateApiKey(), 'sk_live_malformed', 'not-a-key']) {
      const res = await getFrom(platform.url(), FLOOD, token, '/v1/regions', {
        'x-forwarded-for': '203.0.113.9',
      });
      expectError(res, 429, 'rate_limited');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect((await getFrom(platform.url(), FLOOD, tenant.secret)).status).toBe(200);

    // Another address: an unknown key is an ordinary 401.
    expectError(await getFrom(platform.url(), OTHER, generateApiKey()), 401, 'unauthenticated');
  });

  it('answers malformed, unknown and revoked keys with the same 401 under the budget', async () => {
    const from = '127.0.0.4';
    const created = await apiRequest(platform.url(), 'POST', '/v1/keys', {
      token: tenant.secret,
      body: { project_id: tenant.project.id, name: 'to-revoke' },
    });
    const { id, secret } = created.json as { id: string; secret: string };
    expect((await getFrom(platform.url(), from, secret)).status).toBe(200);
    const revoked = await apiRequest(platform.url(), 'POST', `/v1/keys/${id}/revoke`, {
      token: tenant.secret,
    });
    expect(revoked.status).toBeLessThan(300);

    const answers = await Promise.all(
      [`${generateApiKey().slice(0, -1)}x`, generateApiKey(), secret].map((token) =>
        getFrom(platform.url(), from, token),
      ),
    );
    for (const res of answers) expectError(res, 401, 'unauthenticated');
    expect(new Set(answers.map((res) => JSON.stringify(refusal(res)))).size).toBe(1);
  });

  describe('with a second gateway', () => {
    let second: RunningApp;
    beforeAll(async () => {
      second = await platform.startApp('api-gateway');
    });
    afterAll(async () => {
      await second?.stop();
    });

    it('learns through Redis that an address spent its budget, after one lookup of its own', async () => {
      const from = '127.0.0.5';
      for (let i = 0; i < BUDGET; i++) {
        expect((await getFrom(platform.url(), from, generateApiKey())).status).toBe(401);
      }
      expect((await getFrom(platform.url(), from, generateApiKey())).status).toBe(429);

      const before = await scrape(second.url);
      const seen: number[] = [];
      const blocked = await eventually(
        async () => {
          const res = await getFrom(second.url, from, generateApiKey());
          seen.push(res.status);
          return res.status === 429;
        },
        5_000,
        20,
      );
      expect(blocked.ok).toBe(true);
      const after = await scrape(second.url);
      // Told by the count its first failure brought back from Redis, not by its own budget.
      expect(keyChecks(after, 'refused') - keyChecks(before, 'refused')).toBeLessThanOrEqual(2);
      expect(seen.filter((s) => s === 401).length).toBeLessThanOrEqual(2);
    });
  });

  describe('with a gateway behind one trusted proxy (TRUST_PROXY=true)', () => {
    let proxied: RunningApp;
    beforeAll(async () => {
      proxied = await platform.startApp('api-gateway', { TRUST_PROXY: 'true' });
    });
    afterAll(async () => {
      await proxied?.stop();
    });

    it('counts by the right-most X-Forwarded-For entry, which a client cannot choose', async () => {
      const from = '127.0.0.7';
      // The proxy appends the address it saw; whatever the client put before it is ignored.
      const via = (client: string, claimed: string) => ({
        'x-forwarded-for': `${claimed}, ${client}`,
      });
      for (let i = 0; i < BUDGET; i++) {
        const res = await getFrom(
          proxied.url,
          from,
          generateApiKey(),
          '/v1/regions',
          via('198.51.100.50', `192.0.2.${i}`),
        );
        expect(res.status).toBe(401);
      }
      const over = await getFrom(
        proxied.url,
        from,
        generateApiKey(),
        '/v1/regions',
        via('198.51.100.50', '192.0.2.250'),
      );
      expectError(over, 429, 'rate_limited');
      // Another client through the same proxy connection is not concerned.
      const other = await getFrom(
        proxied.url,
        from,
        generateApiKey(),
        '/v1/regions',
        via('198.51.100.51', '198.51.100.50'),
      );
      expectError(other, 401, 'unauthenticated');
    });
  });

  describe('with a gateway whose cache forgets after 1 s', () => {
    let shortLived: RunningApp;
    beforeAll(async () => {
      shortLived = await platform.startApp('api-gateway', { KEY_CACHE_TTL_MS: '1000' });
    });
    afterAll(async () => {
      await shortLived?.stop();
    });

    it('still looks up a valid key whose entry aged out, for an address over its budget', async () => {
      const from = '127.0.0.6';
      expect((await getFrom(shortLived.url, from, secondKey)).status).toBe(200);
      for (let i = 0; i < BUDGET; i++) {
        expect((await getFrom(shortLived.url, from, generateApiKey())).status).toBe(401);
      }
      expectError(await getFrom(shortLived.url, from, generateApiKey()), 429, 'rate_limited');
      await new Promise((r) => setTimeout(r, 1_200));
      // The valid client behind the guesser's address is not locked out by it.
      expect((await getFrom(shortLived.url, from, secondKey)).status).toBe(200);
      expectError(await getFrom(shortLived.url, from, generateApiKey()), 429, 'rate_limited');
    });
  });
});
