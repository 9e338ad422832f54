/**
 * The BFF's sign-in and session guards against a real Redis (own key prefix): state mismatch,
 * missing verifier, forged or unknown cookies and missing CSRF tokens all get a clear page
 * with a 4xx, never a 500, and the auth-server is never asked.
 */
import { Redis } from 'ioredis';
import { cleanRedisPrefix, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { consoleEnv } from './config';
import { buildServer, SESSION_COOKIE, SIGNIN_COOKIE } from './server';
import { SessionStore } from './session.store';

const prefix = testQueuePrefix();
const redis = new Redis(TEST_ENV.redisUrl);
const config = consoleEnv.parse({
  REDIS_URL: TEST_ENV.redisUrl,
  QUEUE_PREFIX: prefix,
  // Nothing listens there: a test that reached the auth-server or the API would fail.
  ISSUER: 'http://127.0.0.1:9',
  API_URL: 'http://127.0.0.1:9',
  PUBLIC_URL: 'http://console.test',
});
const app = buildServer(config, redis);
const store = new SessionStore(redis, prefix, 60);

afterAll(async () => {
  await app.close();
  await cleanRedisPrefix(prefix);
  redis.disconnect();
});

const cookieOf = (res: { headers: Record<string, unknown> }, name: string) => {
  const raw = res.headers['set-cookie'];
  const all = Array.isArray(raw) ? (raw as string[]) : [String(raw)];
  return all.find((c) => c.startsWith(`${name}=`));
};

describe('sign-in', () => {
  it('starts with PKCE S256 and a state, bound to an HttpOnly SameSite=Lax cookie', async () => {
    const res = await app.inject({ url: '/auth/start?return_to=/support' });
    expect(res.statusCode).toBe(303);
    const url = new URL(res.headers.location as string);
    expect(url.pathname).toBe('/oauth/authorize');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe('http://console.test/auth/callback');
    const cookie = cookieOf(res, SIGNIN_COOKIE)!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('refuses a callback with no pending sign-in (missing verifier)', async () => {
    const res = await app.inject({ url: '/auth/callback?code=abc&state=xyz' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('no PKCE verifier');
  });

  it('refuses a state mismatch, and the pending sign-in is used up', async () => {
    const start = await app.inject({ url: '/auth/start' });
    const id = cookieOf(start, SIGNIN_COOKIE)!.split(';')[0];
    const res = await app.inject({
      url: '/auth/callback?code=abc&state=not-the-state',
      headers: { cookie: id },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('state mismatch');
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const again = await app.inject({
      url: `/auth/callback?code=abc&state=${state}`,
      headers: { cookie: id },
    });
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('no PKCE verifier');
  });

  it('shows an error the auth-server sent back', async () => {
    const res = await app.inject({ url: '/auth/callback?error=access_denied' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('access_denied');
  });

  it('an unreachable token endpoint is a clear 400, not a 500', async () => {
    const start = await app.inject({ url: '/auth/start' });
    const id = cookieOf(start, SIGNIN_COOKIE)!.split(';')[0];
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const res = await app.inject({
      url: `/auth/callback?code=abc&state=${state}`,
      headers: { cookie: id },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('did not answer');
  });

  it('only same-site paths are return targets', async () => {
    const res = await app.inject({ url: '/signin?return_to=//evil.example/x' });
    expect(res.body).toContain('value="/projects"');
  });
});

describe('sessions', () => {
  it.each(['forged', 'A'.repeat(43), 'x;y', ''])(
    'a forged cookie %p signs nobody in',
    async (v) => {
      const res = await app.inject({
        url: '/projects',
        headers: { cookie: `${SESSION_COOKIE}=${v}` },
      });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/signin?return_to=%2Fprojects');
    },
  );

  it('a form without the CSRF token is refused, with a valid session', async () => {
    const id = await store.create({
      access_token: 'unused',
      expires_at: Date.now() + 600_000,
      csrf: 'c'.repeat(43),
    });
    const cookie = `${SESSION_COOKIE}=${id}`;
    for (const payload of ['name=x&region=us-east', `name=x&_csrf=${'d'.repeat(43)}`]) {
      const res = await app.inject({
        method: 'POST',
        url: '/projects',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('CSRF');
    }
    const crossSite = await app.inject({
      method: 'POST',
      url: '/projects',
      headers: {
        cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: `name=x&_csrf=${'c'.repeat(43)}`,
    });
    expect(crossSite.statusCode).toBe(403);
  });

  it('a form with no session says so (401), and malformed bodies are 4xx', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/projects',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x',
    });
    expect(res.statusCode).toBe(401);
    const bad = await app.inject({
      method: 'POST',
      url: '/projects',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.statusCode).toBeGreaterThanOrEqual(400);
    expect(bad.statusCode).toBeLessThan(500);
  });

  it('an expired access token with no refresh token ends the session', async () => {
    const id = await store.create({ access_token: 'x', expires_at: Date.now() - 1, csrf: 'c' });
    const res = await app.inject({
      url: '/projects',
      headers: { cookie: `${SESSION_COOKIE}=${id}` },
    });
    expect(res.statusCode).toBe(303);
  });
});
