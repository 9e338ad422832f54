/**
 * The console in headless Chromium (Debian's package, driven by playwright-core) against the
 * real apps, Postgres and Redis: sign up → sign in (PKCE, through the auth-server's own pages)
 * → project → keys (presets, expiry, limit; secret shown once) → real calls → usage chart →
 * members and invitations (invite, accept, change a role, remove, revoke; an invitation accepted
 * here) → rotate
 * → revoke → tickets with picked and pasted request ids (the revoked key's refused request too)
 * → OAuth app → a refused refresh signs out → sign out (tokens revoked at the auth-server) →
 * project deleted by its typed name. Then the operability of the console process: a console
 * whose callback is not registered refuses to start, and SIGTERM drains.
 * Every page is screenshotted at desktop and 375 px width and checked with axe-core.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import {
  apiRequest,
  eventually,
  freePort,
  RunningApp,
  startApp,
  TEST_ENV,
  Tenant,
  TestPlatform,
} from '@cap/testing';
import { Session, SessionStore } from '../src/session.store';

const SHOTS = join(__dirname, 'screenshots');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let platform: TestPlatform;
let consoleApp: RunningApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let clientId: string;
let teammate: Tenant;
let redis: Redis;
const problems: string[] = [];

jest.setTimeout(240_000);

const consoleEnv = () => ({
  ...platform.env,
  ISSUER: platform.url('auth-server'),
  API_URL: platform.url(),
  PUBLIC_URL: base,
  CONSOLE_CLIENT_ID: clientId,
  CONSOLE_REDIRECT_CHECK: 'fail',
  SHUTDOWN_DRAIN_MS: '1500',
});

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { USAGE_FLUSH_MS: '200' },
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // The migration registers cli_console (first party) for port 8084; a console elsewhere
  // registers its own, first party too.
  const owner = await platform.tenant('console-operator');
  teammate = await platform.tenant('teammate');
  redis = new Redis(TEST_ENV.redisUrl);
  const client = await platform.admin<{ id: string }>([
    'create-client',
    '--owner',
    owner.user.email,
    '--name',
    'Console under test',
    '--public',
    '--first-party',
    '--redirect-uri',
    `${base}/auth/callback`,
  ]);
  clientId = client.id;
  // The start-up check (CONSOLE_REDIRECT_CHECK=fail) passes: this callback is registered.
  consoleApp = await startApp('console', consoleEnv(), { port });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
  // axe-core is injected as an inline script, which the console's CSP (its own script's hash
  // only) would block; session.int-spec checks that CSP.
  context = await browser.newContext({ bypassCSP: true });
  page = await context.newPage();
});

afterAll(async () => {
  redis?.disconnect();
  await browser?.close();
  await consoleApp?.stop();
  await platform?.stop();
});

/** Screenshots at both widths and an axe-core run: serious/critical violations are collected. */
async function check(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: join(SHOTS, `${name}-375.png`), fullPage: true });
  // Evaluated in the page, where `document` and `window` exist.
  const overflow = await page.evaluate(
    'document.documentElement.scrollWidth > window.innerWidth + 1',
  );
  if (overflow) problems.push(`${name}: wider than 375 px`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate<string[]>(`axe.run().then((r) => r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.id + ': ' + v.help + ' ' + v.nodes.map((n) => n.target).join(' ')))`);
  for (const v of violations) problems.push(`${name}: ${v}`);
  expect(await page.title()).toMatch(/Developer console|Sign|Consent|Cloud/i);
}

const email = `walker-${Date.now()}@example.com`;

/** The console session of the browser, as the console keeps it in Redis (sealed). */
async function sessionInRedis(): Promise<Session | null> {
  const cookie = (await context.cookies(base)).find((c) => c.name === 'console_session');
  if (!cookie) return null;
  return new SessionStore(redis, platform.env.QUEUE_PREFIX, 60, 3600).get(cookie.value);
}

/** Through the auth-server's pages again, whichever it shows (sign-in, consent, or none). */
async function signInAgain() {
  const moved = async (act: () => Promise<void>) => {
    const before = page.url();
    await act();
    await page.waitForURL((u) => u.href !== before);
    await page.waitForLoadState();
  };
  await moved(() => page.getByRole('button', { name: 'Sign in' }).click());
  for (let i = 0; i < 3 && !page.url().startsWith(base); i++) {
    if (await page.getByLabel('Password').count()) {
      await moved(async () => {
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(password);
        await page.locator('form button[type=submit]').first().click();
      });
    } else if (await page.getByRole('button', { name: 'Allow' }).count()) {
      await moved(() => page.getByRole('button', { name: 'Allow' }).click());
    } else {
      throw new Error(`stuck signing in at ${page.url()}`);
    }
  }
  expect(page.url().startsWith(base)).toBe(true);
}
const password = 'a long enough password for the walk';
let projectUrl = '';
let secret = '';
let refusedRequestId = '';

test('sign up and sign in through the auth-server with PKCE', async () => {
  await page.goto(`${base}/projects`);
  expect(new URL(page.url()).pathname).toBe('/signin');
  await check('signin');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The auth-server's sign-in page, with its link to sign-up.
  await page.getByRole('link', { name: 'Sign up' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.locator('form button[type=submit]').first().click();
  await page.getByRole('link', { name: /Continue and sign in/ }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.locator('form button[type=submit]').first().click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${base}/projects`);
  await expect(page.locator('h1').textContent()).resolves.toBe('Projects');
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'console_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
  // No token ever reaches the page.
  expect(await page.content()).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
  await check('projects-empty');
});

test('creates a project with a region from /v1/regions, renames it', async () => {
  await page.getByLabel('Name').fill('walk-project');
  await page.getByLabel('Region').selectOption({ index: 0 });
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.locator('h1').textContent()).resolves.toBe('Project walk-project');
  projectUrl = page.url();
  await page.getByLabel('New name').fill('walk-renamed');
  await page.getByRole('button', { name: 'Rename' }).click();
  await expect(page.locator('h1').textContent()).resolves.toBe('Project walk-renamed');
  await check('project');
});

test('creates a key: the secret once, with a copy button; not again after reload', async () => {
  await expect(page.getByLabel('Full access (every scope)').isChecked()).resolves.toBe(true);
  await page.getByLabel('Key name').fill('walk-key');
  await page.getByRole('button', { name: 'Create key' }).click();
  secret = (await page.locator('#secret').textContent()) ?? '';
  expect(secret).toMatch(/^sk_live_/);
  expect(await page.getByText('shown only once').count()).toBe(1);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await page.getByRole('button', { name: /Copy secret of walk-key/i }).click();
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
  await check('key-secret');
  await page.goto(projectUrl);
  expect(await page.content()).not.toContain(secret);
  expect(await page.content()).toContain(secret.slice(-4));
  expect(await page.getByRole('cell', { name: 'full access' }).count()).toBe(1);
});

test('a read-only key with a restriction, an expiry date and time, a rate limit', async () => {
  await page.getByLabel('Key name').fill('walk-readonly');
  await page.getByLabel('Read-only (every :read scope)').check();
  await page.getByLabel('Project restriction').selectOption('member');
  const year = new Date().getUTCFullYear() + 1;
  await page.getByLabel('Date').fill(`${year}-06-30`);
  await page.getByLabel('Time (UTC)').fill('14:30');
  await page.getByLabel(/Rate limit/).fill('60');
  await page.getByRole('button', { name: 'Create key' }).click();
  expect(await page.locator('#secret').textContent()).toMatch(/^sk_live_/);
  await page.getByRole('link', { name: /continue/ }).click();
  const row = page.getByRole('row', { name: /walk-readonly/ });
  const text = (await row.textContent()) ?? '';
  expect(text).toContain('read-only');
  expect(text).toContain('all my projects');
  expect(text).toContain('60/min');
  expect(text).toContain(`${year}-06-30 14:30:00 UTC`);
  expect(text).toContain('never'); // not used yet
  // Custom with nothing ticked: the API's own message, with its request id.
  await page.getByLabel('Key name').fill('walk-empty');
  await page.getByLabel('Custom: the scopes ticked below').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  expect(await page.getByRole('alert').textContent()).toMatch(/scopes[\s\S]*req_/);
  await check('key-error');
});

test('real calls with the key show up in the usage chart', async () => {
  for (let i = 0; i < 7; i++) {
    const res = await fetch(`${platform.url()}/v1/projects`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(res.status).toBe(200);
  }
  const deadline = Date.now() + 30_000;
  let total = 0;
  while (Date.now() < deadline) {
    await page.goto(`${projectUrl}/usage?range=1h&granularity=minute&group_by=endpoint`);
    total = Number(await page.getByTestId('usage-total').textContent());
    if (total >= 7) break;
    await page.waitForTimeout(500);
  }
  expect(total).toBeGreaterThanOrEqual(7);
  expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(0);
  await expect(page.getByText('data complete up to').count()).resolves.toBe(1);
  await check('usage');
});

test('members: invite, the invitee accepts, remove; a pending invitation revoked', async () => {
  await page.goto(`${projectUrl}/members`);
  await expect(page.locator('h1').textContent()).resolves.toBe('Members of walk-renamed');
  expect(await page.getByRole('cell', { name: /\(you\)/ }).count()).toBe(1);
  // Exact: each member row's role selector has a label of its own ("Change the role of …").
  await page.getByLabel('Email', { exact: true }).fill(teammate.email);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByRole('status').textContent()).resolves.toContain('Invitation sent');
  expect(await page.getByRole('row', { name: new RegExp(teammate.email) }).count()).toBe(1);
  await check('members-invited');
  // The invitee accepts with a credential of theirs (their verified address).
  const mine = await apiRequest(platform.url(), 'GET', '/v1/invitations', {
    token: teammate.secret,
  });
  const invitation = (mine.json as { data: Array<{ id: string }> }).data[0];
  expect(invitation).toBeDefined();
  const accepted = await apiRequest(
    platform.url(),
    'POST',
    `/v1/invitations/${invitation.id}/accept`,
    { token: teammate.secret },
  );
  expect(accepted.status).toBe(200);
  await page.reload();
  const member = page.getByRole('row', { name: new RegExp(teammate.email) });
  expect(await member.getByLabel(/now viewer$/).count()).toBe(1);
  expect(await page.getByText('No pending invitations.').count()).toBe(1);
  await check('members');
  // The owner changes the teammate's role with the row's selector.
  await member.getByLabel(/^Change the role of /).selectOption('developer');
  await member.getByRole('button', { name: 'Change role' }).click();
  await expect(page.getByRole('status').textContent()).resolves.toContain(
    `${teammate.email} is now a developer of this project.`,
  );
  expect(await member.getByLabel(/now developer$/).count()).toBe(1);
  await member.getByLabel(/Remove/).check();
  await member.getByRole('button', { name: 'Remove' }).click();
  await page.waitForURL(`${projectUrl}/members`);
  expect(await page.getByRole('row', { name: new RegExp(teammate.email) }).count()).toBe(0);
  // An invitation to someone else, revoked before it is accepted.
  await page.getByLabel('Email', { exact: true }).fill('nobody-yet@example.com');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.getByRole('button', { name: /Revoke the invitation of nobody-yet/ }).click();
  await page.waitForURL(`${projectUrl}/members`);
  expect(await page.getByText('No pending invitations.').count()).toBe(1);
});

test('an invitation waiting for me: accepted in the console once my email is verified', async () => {
  await page.goto(`${base}/invitations`);
  expect(await page.getByText('No invitations are waiting for you').count()).toBe(1);
  await check('invitations-empty');
  const link = await platform.admin<{ url: string }>(['verification-link', '--email', email]);
  await page.goto(link.url);
  const invited = await apiRequest(
    platform.url(),
    'POST',
    `/v1/projects/${teammate.project.id}/members`,
    { token: teammate.secret, body: { email, role: 'developer' } },
  );
  expect(invited.status).toBe(201);
  await page.goto(`${base}/invitations`);
  expect(
    await page.getByRole('cell', { name: new RegExp(`^${teammate.project.name}`) }).count(),
  ).toBe(1);
  await check('invitations');
  await page.getByRole('button', { name: /Accept the invitation/ }).click();
  await expect(page.locator('h1').textContent()).resolves.toBe(`Project ${teammate.project.name}`);
  await page.goto(`${base}/projects`);
  expect(await page.getByRole('link', { name: teammate.project.name }).count()).toBe(1);
});

test('rotates, then revokes the key; the revoked key is refused', async () => {
  await page.goto(projectUrl);
  await page
    .getByRole('row', { name: /walk-key/ })
    .getByRole('button', { name: 'Rotate' })
    .click();
  const rotated = (await page.locator('#secret').textContent()) ?? '';
  expect(rotated).toMatch(/^sk_live_/);
  expect(rotated).not.toBe(secret);
  await check('key-rotated');
  await page.getByRole('link', { name: /continue/ }).click();
  const row = page.getByRole('row', { name: /walk-key/ });
  await row.getByLabel(/I understand/).check();
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(page.getByText(/revoked/).count()).resolves.toBeGreaterThan(0);
  const res = await fetch(`${platform.url()}/v1/projects`, {
    headers: { authorization: `Bearer ${rotated}` },
  });
  expect(res.status).toBe(401);
  refusedRequestId = res.headers.get('request-id') ?? '';
  expect(refusedRequestId).toMatch(/^req_/);
});

test('an API error is readable, with its request id and a ticket one click away', async () => {
  await page.goto(`${base}/projects/prj_doesnotexist0000`);
  await expect(page.getByRole('alert').count()).resolves.toBe(1);
  const rid = (await page.locator('#rid').textContent()) ?? '';
  expect(rid).toMatch(/^req_/);
  await check('error');
  await page.getByRole('link', { name: /Open a support ticket with it/ }).click();
  // The console recorded its failed call: offered ticked among the recent failures.
  const pick = page.getByRole('checkbox', { name: new RegExp(rid) });
  await expect(pick.isChecked()).resolves.toBe(true);
  expect(await pick.evaluate((e) => e.parentElement?.textContent ?? '')).toMatch(
    /GET \/v1\/projects\/prj_doesnotexist0000 — 404 project_not_found/,
  );
  await expect(page.getByLabel(/Other request ids/).inputValue()).resolves.toBe('');
  await page.getByLabel('What happened?').fill('The console could not find my project.');
  await check('support');
  await page.getByRole('button', { name: 'Open ticket' }).click();
  await expect(page.locator('h1').textContent()).resolves.toMatch(/^Ticket:/);
  expect(await page.content()).toContain(rid);
  await check('ticket');
  await page.goto(`${base}/support`);
  await expect(page.getByRole('cell', { name: 'open' }).count()).resolves.toBe(1);
  await check('support-tickets');
});

test('the refused request id of the revoked key, pasted, travels in the message', async () => {
  // The gateway answers a revoked key exactly like an unknown one (DESIGN.md §3), so its
  // request id is tagged for nobody and the API attaches it to no one's ticket; the console
  // quotes it in the message instead, and says so.
  await page.goto(`${base}/support`);
  await page.getByLabel('Subject').fill('My revoked key was refused');
  await page.getByLabel('What happened?').fill('My revoked key was refused, as expected.');
  await page.getByLabel(/Other request ids/).fill(refusedRequestId);
  await page.getByRole('button', { name: 'Open ticket' }).click();
  await expect(page.locator('h1').textContent()).resolves.toMatch(/^Ticket:/);
  expect(await page.getByRole('status').textContent()).toContain('could not be tied');
  expect(await page.locator('main').textContent()).toContain(refusedRequestId);
  await check('ticket-unverified');
});

test('registers an OAuth app: client id, secret once', async () => {
  await page.goto(`${base}/oauth-apps`);
  await page.getByLabel('Name').fill('walk-app');
  await page.getByLabel(/Redirect URIs/).fill('https://app.example.com/callback');
  await page.getByRole('button', { name: 'Register app' }).click();
  expect(await page.locator('#client-id').textContent()).toMatch(/^cli_/);
  const clientSecret = (await page.locator('#secret').textContent()) ?? '';
  expect(clientSecret.length).toBeGreaterThan(20);
  await check('oauth-app-secret');
  await page.goto(`${base}/oauth-apps`);
  expect(await page.content()).not.toContain(clientSecret);
  await check('oauth-apps');
});

const refreshWith = (refreshToken: string) =>
  fetch(`${platform.url('auth-server')}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: clientId,
    }),
  });

test('a refresh the auth-server refuses signs the user out cleanly, with a message', async () => {
  const cookie = (await context.cookies(base)).find((c) => c.name === 'console_session')!;
  const hash = createHash('sha256').update(cookie.value).digest('hex');
  const key = `${platform.env.QUEUE_PREFIX}:console:sess:${hash}`;
  const store = new SessionStore(redis, platform.env.QUEUE_PREFIX, 60, 3600);
  const session = (await store.get(cookie.value))!;
  // The refresh token revoked behind the console's back, and the access token due.
  const revoked = await fetch(`${platform.url('auth-server')}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token: String(session.refresh_token),
      token_type_hint: 'refresh_token',
      client_id: clientId,
    }),
  });
  expect(revoked.status).toBe(200);
  await store.save(cookie.value, { ...session, expires_at: Date.now() - 1 });
  await page.goto(`${base}/support`);
  expect(new URL(page.url()).pathname).toBe('/signin');
  expect(await page.getByRole('alert').textContent()).toContain('could not be renewed');
  expect(await redis.exists(key)).toBe(0);
  await check('signin-ended');
  await signInAgain();
  expect(new URL(page.url()).pathname).toBe('/support');
});

test('signs out: tokens revoked at the auth-server, the old session cookie no longer works', async () => {
  const old = (await context.cookies(base)).find((c) => c.name === 'console_session')!.value;
  const tokens = (await sessionInRedis())!;
  expect(
    (await apiRequest(platform.url(), 'GET', '/v1/projects', { token: tokens.access_token }))
      .status,
  ).toBe(200);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin/);
  expect(await page.getByRole('status').textContent()).toContain('tokens were revoked');
  await check('signed-out');
  // The refresh token is dead at the auth-server…
  const refresh = await refreshWith(tokens.refresh_token!);
  expect(refresh.status).toBe(400);
  expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
  // …and the access token is refused by the API (every gateway drops it within a second).
  const refused = await eventually(
    async () =>
      (await apiRequest(platform.url(), 'GET', '/v1/projects', { token: tokens.access_token }))
        .status === 401,
    5_000,
    100,
  );
  expect(refused.ok).toBe(true);
  const res = await fetch(`${base}/projects`, {
    headers: { cookie: `console_session=${old}` },
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toMatch(/^\/signin/);
  // Nothing secret in the console's log: no token, no cookie, no authorization code.
  const log = consoleApp.output();
  for (const secretValue of [tokens.access_token, tokens.refresh_token, old]) {
    expect(log).not.toContain(secretValue);
  }
  expect(log).not.toMatch(/code=|"cookie"|authorization/i);
  expect(log).toMatch(/"app":"console"/);
});

test('deletes a project only with its name typed', async () => {
  await signInAgain();
  await page.goto(`${base}/projects`);
  await check('projects');
  await page.goto(`${base}/no/such/page`);
  await check('not-found');
  await page.goto(`${base}/projects`);
  await page.getByLabel('Name').fill('doomed');
  await page.getByRole('button', { name: 'Create project' }).click();
  const doomed = page.url();
  await page.getByLabel(/Type the project name/).fill('not it');
  await page.getByRole('button', { name: 'Delete project' }).click();
  expect(await page.getByRole('alert').textContent()).toContain('nothing was deleted');
  await check('delete-mismatch');
  await page.goto(doomed);
  await page.getByLabel(/Type the project name/).fill('doomed');
  await page.getByRole('button', { name: 'Delete project' }).click();
  await page.waitForURL(`${base}/projects`);
  expect(await page.getByRole('link', { name: 'doomed' }).count()).toBe(0);
});

test('a console whose callback is not registered refuses to start, naming the command', async () => {
  const port = await freePort();
  const stray = await startApp(
    'console',
    { ...consoleEnv(), PUBLIC_URL: `http://127.0.0.1:${port}` },
    { port, waitReady: false },
  );
  const code = await new Promise<number | null>((done) => stray.process.once('exit', done));
  expect(code).toBe(1);
  const lines = stray.output().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`http://127.0.0.1:${port}/auth/callback is not a registered`);
  expect(lines[0]).toContain('npm run admin -- create-client --public');
});

test('SIGTERM: /readyz turns 503 at once while pages are still served, then exit 0', async () => {
  const exited = new Promise<number | null>((done) => consoleApp.process.once('exit', done));
  consoleApp.process.kill('SIGTERM');
  const draining = await eventually(
    async () => (await fetch(`${base}/readyz`)).status === 503,
    1_000,
    20,
  );
  expect(draining.ok).toBe(true);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/signin`)).status).toBe(200);
  expect(await exited).toBe(0);
});

test('no page was wider than 375 px or had serious accessibility violations', () => {
  expect(problems).toEqual([]);
});
