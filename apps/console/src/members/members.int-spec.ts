/**
 * The members page's role selector against the real platform (projects-service, auth-server,
 * gateway) and a real Redis: the console in-process as main.ts builds it, calling the gateway
 * with a session whose bearer is a tenant's API key (the API takes either; the sign-in path
 * itself is session.int-spec.ts's and the journey's). Owners and admins get a labelled selector
 * per member; a change redirects with a notice; a refusal is the API's error, readable, with its
 * request id; members who may not change roles get no selector.
 */
import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { createHttpApp, createLogger, Metrics } from '@cap/observability';
import { aclSetUserArgs } from '@cap/queue';
import {
  apiRequest,
  cleanRedisPrefix,
  TEST_ENV,
  Tenant,
  testQueuePrefix,
  TestPlatform,
} from '@cap/testing';
import { ConsoleModule } from '../app.module';
import { consoleEnv } from '../config';
import { SESSION_COOKIE } from '../server';
import { SessionStore } from '../session.store';

const prefix = testQueuePrefix();
const redis = new Redis(TEST_ENV.redisUrl);
const aclUser = `cap-console-${prefix}`;
const aclPassword = `pw-${prefix}`;
const CSRF = 'c'.repeat(43);
const store = new SessionStore(redis, prefix, 600, 3600);
const logger = createLogger('console', 'silent');
let platform: TestPlatform;
let app: NestFastifyApplication;
let owner: Tenant;
let admin: Tenant;
let dev: Tenant;
let projectId: string;

jest.setTimeout(120_000);

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server', 'api-gateway']);
  [owner, admin, dev] = [
    await platform.tenant('owner'),
    await platform.tenant('admin'),
    await platform.tenant('dev'),
  ];
  projectId = owner.project.id;
  await platform.addMember(projectId, owner.secret, admin.email, 'admin');
  await platform.addMember(projectId, owner.secret, dev.email, 'developer');

  await redis.call('ACL', 'SETUSER', ...aclSetUserArgs(aclUser, aclPassword, 'console', prefix));
  const url = new URL(TEST_ENV.redisUrl);
  url.username = aclUser;
  url.password = aclPassword;
  const config = consoleEnv.parse({
    REDIS_URL: url.toString(),
    QUEUE_PREFIX: prefix,
    ISSUER: platform.url('auth-server'),
    API_URL: platform.url(),
    PUBLIC_URL: 'http://console.test',
    CONSOLE_REDIRECT_CHECK: 'off',
    LOG_LEVEL: 'silent',
  });
  app = await createHttpApp(ConsoleModule.forRoot(config, logger), logger, new Metrics('console'));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
});

afterAll(async () => {
  await app?.close();
  await redis.call('ACL', 'DELUSER', aclUser);
  await cleanRedisPrefix(prefix);
  redis.disconnect();
  await platform?.stop();
});

/** A console session cookie for `who`, their API key standing in for an access token. */
async function signedIn(who: Tenant): Promise<string> {
  const id = await store.create({
    access_token: who.secret,
    expires_at: Date.now() + 600_000,
    created_at: Date.now(),
    csrf: CSRF,
    user: { id: who.user.id, email: who.email },
  });
  return `${SESSION_COOKIE}=${id}`;
}

const membersPage = async (cookie: string, query = '') =>
  app.inject({ url: `/projects/${projectId}/members${query}`, headers: { cookie } });

const changeRole = (cookie: string, userId: string, role: string) =>
  app.inject({
    method: 'POST',
    url: `/projects/${projectId}/members/${userId}/role`,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: CSRF, role }).toString(),
  });

async function roleOf(userId: string): Promise<string | undefined> {
  const res = await apiRequest(platform.url(), 'GET', `/v1/projects/${projectId}/members`, {
    token: owner.secret,
  });
  return (res.json.data as Array<{ user_id: string; role: string }>).find(
    (m) => m.user_id === userId,
  )?.role;
}

describe('the members page role selector', () => {
  it('gives an owner a labelled selector per member, set to the current role', async () => {
    const res = await membersPage(await signedIn(owner));
    expect(res.statusCode).toBe(200);
    for (const [who, role] of [
      [owner, 'owner'],
      [admin, 'admin'],
      [dev, 'developer'],
    ] as const) {
      const field = `role-${who.user.id}`;
      expect(res.body).toContain(
        `<form method="post" action="/projects/${projectId}/members/${who.user.id}/role">`,
      );
      expect(res.body).toMatch(new RegExp(`<label for="${field}">[^]*?now ${role}</label>`));
      const select = new RegExp(`<select id="${field}" name="role">(.*?)</select>`).exec(
        res.body,
      )?.[1];
      expect(select).toContain(`<option value="${role}" selected>`);
      expect(select?.match(/ selected/g)).toHaveLength(1);
    }
    expect(res.body).toContain(`Change the role of ${dev.email}: `);
    expect(res.body).toContain('Change your role: ');
    expect(res.body).not.toContain('the public API has no call for it');
  });

  it('changes a role and says so; the API has the new role', async () => {
    const cookie = await signedIn(owner);
    const res = await changeRole(cookie, dev.user.id, 'viewer');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/projects/${projectId}/members?role_changed=${dev.user.id}`);
    const after = await membersPage(cookie, `?role_changed=${dev.user.id}`);
    expect(after.body).toContain(`${dev.email} is now a viewer of this project.`);
    expect(after.body).toMatch(
      new RegExp(`<select id="role-${dev.user.id}" name="role">[^]*?value="viewer" selected`),
    );
    expect(await roleOf(dev.user.id)).toBe('viewer');
  });

  it('shows the API’s refusal readably, with its request id, and changes nothing', async () => {
    // The owner is the last owner: stepping down is 409.
    const last = await changeRole(await signedIn(owner), owner.user.id, 'admin');
    expect(last.statusCode).toBe(409);
    expect(last.body).toContain('<title>Change role · Developer console</title>');
    expect(last.body).toContain('The last owner of a project cannot be given another role.');
    expect(last.body).toMatch(/Request id <code id="rid">req_[0-9A-Za-z]+<\/code>/);
    expect(last.body).toContain('Open a support ticket with it');
    expect(last.body).toContain(`<a href="/projects/${projectId}/members">Back</a>`);
    // An admin cannot make an owner: 403, the API's message.
    const admins = await changeRole(await signedIn(admin), dev.user.id, 'owner');
    expect(admins.statusCode).toBe(403);
    expect(admins.body).toContain(
      'An admin of this project cannot make someone an owner or change an owner&#39;s role.',
    );
    // A role the API does not know: 400 naming the field, never a 500.
    const bad = await changeRole(await signedIn(owner), dev.user.id, 'superuser');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('field <code>role</code>');
    expect(await roleOf(owner.user.id)).toBe('owner');
    expect(await roleOf(dev.user.id)).toBe('viewer');
  });

  it('gives no selector to a member who may not change roles', async () => {
    const res = await membersPage(await signedIn(dev));
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('/role"');
    expect(res.body).toContain('Only owners and admins change roles.');
    expect(res.body).toContain(`<td data-label="Role">owner</td>`);
  });
});
