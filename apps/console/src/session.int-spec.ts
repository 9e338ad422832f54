/**
 * The BFF's sign-in and session guards against a real Redis (own key prefix), on the app as
 * main.ts builds it (the platform's HTTP contract, health routes): state mismatch, missing
 * verifier, forged or unknown cookies and missing CSRF tokens all get a clear page with a 4xx,
 * never a 500, and the auth-server is never asked. Sessions end at their absolute lifetime
 * however busy; failed requests are kept, newest 20.
 */
import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { createHttpApp, createLogger, Metrics } from '@cap/observability';
import { aclSetUserArgs } from '@cap/queue';
import { cleanRedisPrefix, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { ConsoleModule } from './app.module';
import { consoleEnv } from './config';
import { SESSION_COOKIE, SIGNIN_COOKIE } from './server';
import { FAILED_REQUESTS_KEPT, Session, SessionStore } from './session.store';

const prefix = testQueuePrefix();
const redis = new Redis(TEST_ENV.redisUrl);
const MAX_AGE_S = 3600;
// The console runs as its own Redis ACL user (libs/queue/src/redis-acl.ts), as deployed.
const aclUser = `cap-console-${prefix}`;
const aclPassword = `pw-${prefix}`;
const consoleRedisUrl = (() => {
  const url = new URL(TEST_ENV.redisUrl);
  url.username = aclUser;
  url.password = aclPassword;
  return url.toString();
})();
const config = consoleEnv.parse({
  REDIS_URL: consoleRedisUrl,
  QUEUE_PREFIX: prefix,
  // Nothing listens there: a test that reached the auth-server or the API would fail.
  ISSUER: 'http://127.0.0.1:9',
  API_URL: 'http://127.0.0.1:9',
  PUBLIC_URL: 'http://console.test',
  CONSOLE_SESSION_MAX_AGE_S: String(MAX_AGE_S),
  LOG_LEVEL: 'silent',
});
const logger = createLogger('console', 'silent');
let app: NestFastifyApplication;
const store = new SessionStore(redis, prefix, 60, MAX_AGE_S);
const sessionKey = (id: string) =>
  `${prefix}:console:sess:${createHash('sha256').update(id).digest('hex')}`;
const session = (over: Partial<Session> = {}): Session => ({
  access_token: 'unused',
  expires_at: Date.now() + 600_000,
  created_at: Date.now(),
  csrf: 'c'.repeat(43),
  ...over,
});

beforeAll(async () => {
  await redis.call('ACL', 'SETUSER', ...aclSetUserArgs(aclUser, aclPassword, 'console', prefix));
  app = await createHttpApp(ConsoleModule.forRoot(config, logger), logger, new Metrics('console'));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await store.init();
});

afterAll(async () => {
  await app?.close();
  await redis.call('ACL', 'DELUSER', aclUser);
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

  it('refuses a state mismatch, and clears the sign-in cookie', async () => {
    const start = await app.inject({ url: '/auth/start' });
    const id = cookieOf(start, SIGNIN_COOKIE)!.split(';')[0];
    const res = await app.inject({
      url: '/auth/callback?code=abc&state=not-the-state',
      headers: { cookie: id },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('state mismatch');
    expect(cookieOf(res, SIGNIN_COOKIE)).toMatch(/^console_signin=; Path=\/auth; Max-Age=0/);
  });

  it('keeps a sign-in under way in the browser, sealed: /auth/start writes nothing to Redis', async () => {
    const before = (await redis.keys(`${prefix}:*`)).sort();
    const starts = await Promise.all(
      Array.from({ length: 20 }, () => app.inject({ url: '/auth/start?return_to=/support' })),
    );
    expect(starts.every((r) => r.statusCode === 303)).toBe(true);
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual(before);
    // The cookie's contents cannot be read or changed: the verifier is not in it in clear, and
    // a flipped character is no sign-in at all.
    const start = starts[0];
    const value = cookieOf(start, SIGNIN_COOKIE)!.split(';')[0].split('=')[1];
    expect(value).not.toContain('support');
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const flipped = value.slice(0, 40) + (value[40] === 'A' ? 'B' : 'A') + value.slice(41);
    for (const cookie of [flipped, value.slice(0, -4), 'x'.repeat(3000)]) {
      const res = await app.inject({
        url: `/auth/callback?code=abc&state=${state}`,
        headers: { cookie: `${SIGNIN_COOKIE}=${cookie}` },
      });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('no PKCE verifier');
    }
  });

  it('shows an error the auth-server sent back, in its own words only', async () => {
    const res = await app.inject({
      url: '/auth/callback?error=access_denied&error_description=Call+1-800-SCAM+to+unlock',
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('access was not granted (access_denied)');
    expect(res.body).not.toContain('SCAM');
    const unknown = await app.inject({ url: '/auth/callback?error=%3Cscript%3Ex' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toContain('the platform refused it');
    expect(unknown.body).not.toContain('<script>x');
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

  it.each([
    '//evil.example/x',
    '/\\evil.example',
    '/%09/evil.example',
    '/%0a/evil.example',
    '/%5C%5Cevil.example',
    '/ /evil.example',
    'https://evil.example',
    'javascript:alert(1)',
    '/auth/callback?code=x',
    `/${'a'.repeat(600)}`,
  ])('only plain same-site paths are return targets: %p is not', async (target) => {
    const res = await app.inject({ url: `/signin?return_to=${target}` });
    expect(res.body).toContain('name="return_to" value="/projects"');
    const start = await app.inject({ url: `/auth/start?return_to=${target}` });
    expect(start.statusCode).toBe(303);
  });

  it('a plain path of the console is kept across the sign-in', async () => {
    const res = await app.inject({
      url: `/signin?return_to=${encodeURIComponent('/projects/prj_1/usage?range=24h')}`,
    });
    expect(res.body).toContain('value="/projects/prj_1/usage?range=24h"');
  });

  it('allows only its own script (CSP hash), no plugins and no <base>', async () => {
    const res = await app.inject({ url: '/signin' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    const script = /<script>([\s\S]*?)<\/script>/.exec(res.body)![1];
    const hash = createHash('sha256').update(script).digest('base64');
    expect(csp).toContain(`'sha256-${hash}'`);
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
    const id = await store.create(session());
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

  it('an expired access token with no refresh token ends the session, saying why', async () => {
    const id = await store.create(session({ expires_at: Date.now() - 1 }));
    const res = await app.inject({
      url: '/projects',
      headers: { cookie: `${SESSION_COOKIE}=${id}` },
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/signin?ended=refresh&return_to=%2Fprojects');
    expect(String(res.headers['set-cookie'])).toMatch(/console_session=; Path=\/; Max-Age=0/);
    expect(await redis.exists(sessionKey(id))).toBe(0);
    const signin = await app.inject({ url: res.headers.location as string });
    expect(signin.body).toContain('could not be renewed');
  });

  it('an auth-server that does not answer a refresh signs nobody out: 503, try again', async () => {
    const id = await store.create(session({ expires_at: Date.now() - 1, refresh_token: 'r' }));
    const res = await app.inject({
      url: '/projects',
      headers: { cookie: `${SESSION_COOKIE}=${id}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('did not answer');
    expect(await redis.exists(sessionKey(id))).toBe(1);
  });

  it('a session past its absolute lifetime ends, however recently used', async () => {
    const old = session({ created_at: Date.now() - MAX_AGE_S * 1000 - 1000 });
    const id = await store.create(session());
    // As if it had been used all along: the record is there, only its age is past the limit.
    await redis.set(sessionKey(id), store.encode(id, old), 'EX', 60);
    const res = await app.inject({
      url: '/support',
      headers: { cookie: `${SESSION_COOKIE}=${id}` },
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/signin?ended=max_age&return_to=%2Fsupport');
    expect(await redis.exists(sessionKey(id))).toBe(0);
    const signin = await app.inject({ url: res.headers.location as string });
    expect(signin.body).toContain('maximum lifetime');
  });

  it('holds no token in clear in Redis: the record is sealed with a key from the cookie', async () => {
    const id = await store.create(
      session({ access_token: 'at-secret-value', refresh_token: 'rt-secret-value' }),
    );
    const raw = (await redis.get(sessionKey(id)))!;
    expect(raw).not.toMatch(/secret-value|access_token/);
    expect((await store.get(id))!.refresh_token).toBe('rt-secret-value');
    // Another cookie cannot open it, even pointed at the same record.
    const other = 'B'.repeat(43);
    await redis.set(sessionKey(other), raw, 'EX', 60);
    expect(await store.get(other)).toBeNull();
  });

  it('a save never brings back a session that ended meanwhile (signed out in another tab)', async () => {
    const s = session();
    const id = await store.create(s);
    await store.destroy(id);
    await store.save(id, { ...s, access_token: 'renewed' });
    expect(await redis.exists(sessionKey(id))).toBe(0);
  });

  it('one request at a time holds a session’s refresh lock', async () => {
    const id = await store.create(session());
    const got = await Promise.all([1, 2, 3].map(() => store.lockRefresh(id)));
    expect(got.filter(Boolean)).toHaveLength(1);
    await store.releaseRefresh(id);
    expect(await store.lockRefresh(id)).toBe(true);
    await store.releaseRefresh(id);
  });

  it('use renews the idle TTL, never past the absolute end', async () => {
    const id = await store.create(session({ created_at: Date.now() - (MAX_AGE_S - 5) * 1000 }));
    expect(await redis.ttl(sessionKey(id))).toBeLessThanOrEqual(5);
    const young = await store.create(session());
    await redis.expire(sessionKey(young), 10);
    const s = (await store.get(young))!;
    await store.touch(young, s);
    expect(await redis.ttl(sessionKey(young))).toBeGreaterThan(50);
  });

  it('remembers the newest 20 failed requests of a session, and forgets them with it', async () => {
    const s = session();
    const id = await store.create(s);
    for (let i = 0; i < FAILED_REQUESTS_KEPT + 5; i++) {
      await store.recordFailure(id, s, {
        request_id: `req_${String(i).padStart(20, '0')}`,
        at: Date.now(),
        method: 'GET',
        path: '/v1/projects/prj_x',
        status: 404,
        code: 'project_not_found',
      });
    }
    const kept = await store.failures(id);
    expect(kept).toHaveLength(FAILED_REQUESTS_KEPT);
    expect(kept[0].request_id).toBe(`req_${String(FAILED_REQUESTS_KEPT + 4).padStart(20, '0')}`);
    await store.destroy(id);
    expect(await store.failures(id)).toEqual([]);
  });

  it('keeps every key under <prefix>:console:, and its Redis user may touch nothing else', async () => {
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.startsWith(`${prefix}:console:`))).toEqual([]);
    const asConsole = new Redis(consoleRedisUrl, { maxRetriesPerRequest: 1 });
    try {
      await asConsole.set(`${prefix}:console:probe`, '1', 'EX', 10);
      for (const key of [`${prefix}:rl:x`, `${prefix}:{projects}:x`, `${prefix}:oidc:x`, 'other']) {
        await expect(asConsole.get(key)).rejects.toThrow(/NOPERM/);
      }
      await expect(asConsole.publish(`${prefix}:events:key-revoked`, 'x')).rejects.toThrow(
        /NOPERM/,
      );
    } finally {
      asConsole.disconnect();
    }
  });
});

describe('operability', () => {
  it('/healthz and /readyz (Redis checked) from the platform, with request ids', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { redis: 'up' } });
    expect(ready.headers['request-id']).toMatch(/^req_/);
  });

  it('an unknown page is an HTML 404 with a way back', async () => {
    const res = await app.inject({ url: '/no/such/page' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('href="/projects"');
  });
});
