/**
 * The console's session against the real auth-server, gateway and Redis, signed in through the
 * auth-server's own pages (a cookie-keeping HTTP client, no Chromium): a token refresh that many
 * requests need at once happens once (refresh tokens are single-use: a second use would be taken
 * for a replay and end the grant), and keys made in the console (a first-party client) are the
 * user's own: signing out ends the console's tokens, not the keys.
 */
import { Redis } from 'ioredis';
import {
  apiRequest,
  authorizeInBrowser,
  Browser,
  eventually,
  freePort,
  RunningApp,
  startApp,
  TENANT_PASSWORD,
  TEST_ENV,
  Tenant,
  TestPlatform,
} from '@cap/testing';
import { SESSION_COOKIE } from '../src/server';
import { Session, SessionStore } from '../src/session.store';

let platform: TestPlatform;
let consoleApp: RunningApp;
let redis: Redis;
let store: SessionStore;
let base: string;
let user: Tenant;

jest.setTimeout(120_000);

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server', 'api-gateway']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  user = await platform.tenant('console-user');
  const client = await platform.admin<{ id: string }>([
    'create-client',
    '--owner',
    user.user.email,
    '--name',
    'Console under test',
    '--public',
    '--first-party',
    '--redirect-uri',
    `${base}/auth/callback`,
  ]);
  consoleApp = await startApp(
    'console',
    {
      ...platform.env,
      ISSUER: platform.url('auth-server'),
      API_URL: platform.url(),
      PUBLIC_URL: base,
      CONSOLE_CLIENT_ID: client.id,
    },
    { port },
  );
  redis = new Redis(TEST_ENV.redisUrl);
  store = new SessionStore(redis, platform.env.QUEUE_PREFIX, 60, 3600);
});

afterAll(async () => {
  redis?.disconnect();
  await consoleApp?.stop();
  await platform?.stop();
});

/** Signs `user` in to the console; returns the browser and its session cookie. */
async function signIn(): Promise<{ browser: Browser; id: string }> {
  const browser = new Browser();
  const start = await browser.request(`${base}/auth/start?return_to=/projects`);
  expect(start.status).toBe(303);
  const { callback } = await authorizeInBrowser(browser, start.headers.get('location')!, {
    email: user.user.email,
    password: TENANT_PASSWORD,
    redirectUri: `${base}/auth/callback`,
  });
  const done = await browser.request(callback.toString());
  expect(done.status).toBe(303);
  expect(done.headers.get('location')).toBe('/projects');
  const id = /console_session=([^;]+)/.exec(browser.jar.header(`${base}/projects`))?.[1];
  expect(id).toBeDefined();
  return { browser, id: id! };
}

const sessionOf = async (id: string): Promise<Session> => (await store.get(id))!;

/** Marks the session's access token as due, so that the next request refreshes it. */
const makeDue = async (id: string) =>
  store.save(id, { ...(await sessionOf(id)), expires_at: Date.now() });

test('eight pages wanting a refresh at once: one refresh, every page served, still signed in', async () => {
  const { browser, id } = await signIn();
  const before = await sessionOf(id);
  await makeDue(id);
  const pages = await Promise.all(
    Array.from({ length: 8 }, () => browser.request(`${base}/projects`)),
  );
  expect(pages.map((p) => p.status)).toEqual(Array(8).fill(200));
  const after = await sessionOf(id);
  expect(after.access_token).not.toBe(before.access_token);
  expect(after.refresh_token).not.toBe(before.refresh_token);
  expect(after.expires_at).toBeGreaterThan(Date.now() + 60_000);
  // The one refresh's tokens are good: the grant was not ended as a replay.
  expect(
    (await apiRequest(platform.url(), 'GET', '/v1/projects', { token: after.access_token })).status,
  ).toBe(200);
  expect((await browser.request(`${base}/projects`)).status).toBe(200);
});

test('a key made in the console keeps working after signing out; the console’s tokens do not', async () => {
  const { browser, id } = await signIn();
  const session = await sessionOf(id);
  // What the console's key form sends, with the session's token.
  const made = await apiRequest(platform.url(), 'POST', '/v1/keys', {
    token: session.access_token,
    body: { name: 'made in the console', project_id: user.project.id },
  });
  expect(made.status).toBe(201);
  const secret = (made.json as { secret: string }).secret;

  const out = await browser.request(`${base}/signout`, { form: { _csrf: session.csrf } });
  expect(out.status).toBe(303);
  expect(out.headers.get('location')).toBe('/signin?signed_out=1');
  const ended = await eventually(
    async () =>
      (await apiRequest(platform.url(), 'GET', '/v1/projects', { token: session.access_token }))
        .status === 401,
    5_000,
    50,
  );
  expect(ended.ok).toBe(true);
  await new Promise((r) => setTimeout(r, 500));
  expect((await apiRequest(platform.url(), 'GET', '/v1/projects', { token: secret })).status).toBe(
    200,
  );
  // The old cookie signs nobody in.
  const again = await fetch(`${base}/projects`, {
    headers: { cookie: `${SESSION_COOKIE}=${id}` },
    redirect: 'manual',
  });
  expect(again.status).toBe(303);
});

test('signing in again in the same browser forgets the earlier session', async () => {
  const first = await signIn();
  const browser = first.browser;
  const start = await browser.request(`${base}/auth/start`);
  const { callback } = await authorizeInBrowser(browser, start.headers.get('location')!, {
    email: user.user.email,
    password: TENANT_PASSWORD,
    redirectUri: `${base}/auth/callback`,
  });
  expect((await browser.request(callback.toString())).status).toBe(303);
  expect(await store.get(first.id)).toBeNull();
  const id = /console_session=([^;]+)/.exec(browser.jar.header(`${base}/projects`))![1];
  expect(id).not.toBe(first.id);
  expect((await browser.request(`${base}/projects`)).status).toBe(200);
});
