/**
 * The token endpoint's budget per client, through the booted auth-server with Redis real: a
 * client past TOKEN_REQUESTS_PER_MINUTE gets 429 `slow_down` with Retry-After, other clients
 * are untouched, requests that fail client authentication spend only the budget of their own
 * (claimed client, address), and without Redis the endpoint refuses (503). The auth-server
 * trusts one proxy (this test), so X-Forwarded-For's last hop is a request's address.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  clientSecretBasic,
  freePort,
  RunningApp,
  startApp,
  TestPlatform,
  tokenRequest as postToken,
} from '@cap/testing';

const LIMIT = 5;
let platform: TestPlatform;
let AS: string;
let owner: string;

interface Client {
  id: string;
  client_secret: string;
}

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server'], {
    TOKEN_REQUESTS_PER_MINUTE: String(LIMIT),
    TRUST_PROXY: '1',
  });
  AS = platform.url('auth-server');
  owner = (await platform.tenant('throttle')).email;
  // The budget slides over a minute: start well inside one, so no window ends mid-test.
  const into = Date.now() % 60_000;
  if (into > 40_000) await new Promise((r) => setTimeout(r, 60_500 - into));
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

const newClient = (name: string) =>
  platform.admin<Client>([
    'create-client',
    '--owner',
    owner,
    '--name',
    name,
    '--redirect-uri',
    'https://app.example.com/callback',
  ]);

const basic = (client: Client, secret = client.client_secret) =>
  clientSecretBasic(client.id, secret);

const tokenRequest = (form: Record<string, string>, authorization?: string, from = '192.0.2.1') =>
  postToken(AS, form, {
    'X-Forwarded-For': from,
    ...(authorization ? { Authorization: authorization } : {}),
  });

const CLIENT_CREDENTIALS = { grant_type: 'client_credentials', scope: 'projects:read' };

it('refuses a client past its budget with 429 slow_down, and only that client', async () => {
  const [a, b] = [await newClient('A'), await newClient('B')];
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT; i++) {
    statuses.push((await tokenRequest(CLIENT_CREDENTIALS, basic(a))).status);
  }
  expect(statuses).toEqual(Array(LIMIT).fill(200));

  const over = await tokenRequest(CLIENT_CREDENTIALS, basic(a));
  expect(over.status).toBe(429);
  const retryAfter = Number(over.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(120);
  expect(over.headers.get('cache-control')).toBe('no-store');
  expect(over.headers.get('request-id')).toMatch(/^req_/);
  expect(await over.json()).toEqual({
    error: 'slow_down',
    error_description: expect.stringContaining(`Retry after ${retryAfter} s`),
  });
  // Named in the form instead of the Basic header: the same budget.
  const posted = await tokenRequest({
    ...CLIENT_CREDENTIALS,
    client_id: a.id,
    client_secret: a.client_secret,
  });
  expect(posted.status).toBe(429);

  expect((await tokenRequest(CLIENT_CREDENTIALS, basic(b))).status).toBe(200);
});

describe('security: failed client authentication', () => {
  it('is counted per claimed client and address: the victim elsewhere keeps its budget', async () => {
    const victim = await newClient('Victim');
    const attacker = '203.0.113.66';
    const forged: number[] = [];
    for (let i = 0; i < LIMIT * 2; i++) {
      // A spoofed first hop changes nothing: the address is the one the proxy saw.
      const res = await tokenRequest(
        CLIENT_CREDENTIALS,
        basic(victim, `not-the-secret-${i}`),
        `10.0.0.${i}, ${attacker}`,
      );
      forged.push(res.status);
    }
    expect(forged).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(LIMIT).fill(429)]);
    // A client that does not exist is bounded the same way.
    const unknown: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      const res = await tokenRequest(
        CLIENT_CREDENTIALS,
        clientSecretBasic('cli_doesnotexist', 'whatever'),
        attacker,
      );
      unknown.push(res.status);
    }
    expect(unknown).toEqual([...Array<number>(LIMIT).fill(401), 429]);

    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      const res = await tokenRequest(
        { ...CLIENT_CREDENTIALS, client_id: victim.id, client_secret: victim.client_secret },
        undefined,
        '198.51.100.10',
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
  });
});

describe('security: when Redis is away', () => {
  let redis: ChildProcess | undefined;
  let isolated: RunningApp | undefined;

  function startRedis(port: number): Promise<ChildProcess> {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'pipe' },
    );
    return new Promise((done, fail) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) done(child);
      });
      child.on('exit', (code) => fail(new Error(`redis-server exited ${code}: ${out}`)));
    });
  }

  afterAll(async () => {
    await isolated?.stop();
    redis?.kill('SIGKILL');
  });

  it('the token endpoint fails closed: 503 temporarily_unavailable, no token', async () => {
    const client = await newClient('Closed');
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    const port = await freePort();
    isolated = await startApp(
      'auth-server',
      {
        ...platform.env,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        ISSUER: `http://127.0.0.1:${port}`,
      },
      { port },
    );
    const request = () =>
      postToken(isolated!.url, CLIENT_CREDENTIALS, { Authorization: basic(client) });
    expect((await request()).status).toBe(200);

    redis.kill('SIGKILL');
    await new Promise((r) => redis!.once('exit', r));
    const down = await request();
    expect(down.status).toBe(503);
    expect(down.headers.get('cache-control')).toBe('no-store');
    expect(await down.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: expect.any(String),
    });
  });
});
