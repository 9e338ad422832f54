/**
 * The token endpoint's budget per client, through the booted auth-server with Redis real: a
 * client past TOKEN_REQUESTS_PER_MINUTE gets 429 `slow_down` with Retry-After, other clients
 * are untouched, and requests that fail client authentication spend nobody's budget.
 */
import { clientSecretBasic, TestPlatform, tokenRequest as postToken } from '@cap/testing';

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

const tokenRequest = (form: Record<string, string>, authorization?: string) =>
  postToken(AS, form, authorization ? { Authorization: authorization } : {});

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

it('does not count requests that fail client authentication', async () => {
  const victim = await newClient('Victim');
  for (let i = 0; i < LIMIT * 2; i++) {
    const forged = await tokenRequest(CLIENT_CREDENTIALS, basic(victim, 'not-the-secret'));
    expect(forged.status).toBe(401);
  }
  const statuses: number[] = [];
  for (let i = 0; i <= LIMIT; i++) {
    const res = await tokenRequest({
      ...CLIENT_CREDENTIALS,
      client_id: victim.id,
      client_secret: victim.client_secret,
    });
    statuses.push(res.status);
  }
  expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
});
