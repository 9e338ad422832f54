/**
 * The lifecycle of projects, members, keys, support tickets and OAuth clients through the
 * booted apps (two gateway processes, usage-worker included): what each step answers, and that
 * revocations — a deleted project, a removed member, a rotation without grace, an expiry —
 * reach the other gateway within a second.
 */
import { randomUUID } from 'node:crypto';
import {
  apiRequest,
  ApiResponse,
  DbSnapshotter,
  eventually,
  expectError,
  oauthAccessToken,
  RunningApp,
  Tenant,
  TestPlatform,
} from '@cap/testing';

let platform: TestPlatform;
let db: DbSnapshotter;
let alice: Tenant;
let bob: Tenant;
let carol: Tenant;
let second: RunningApp;

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

beforeAll(async () => {
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { KEY_TOUCH_FLUSH_MS: '200', USAGE_FLUSH_MS: '200' },
  );
  db = await DbSnapshotter.connect(platform.db.url);
  alice = await platform.tenant('alice');
  bob = await platform.tenant('bob');
  carol = await platform.tenant('carol');
  second = await platform.startApp('api-gateway');
}, 180_000);

afterAll(async () => {
  await second?.stop();
  await db?.close();
  await platform?.stop();
});

const api = (
  method: string,
  path: string,
  token: string,
  body?: unknown,
  base = platform.url(),
): Promise<ApiResponse> => apiRequest(base, method, path, { token, body });

/** Makes `secret` known to the second gateway's key cache (two answered requests). */
async function warm(secret: string) {
  for (let i = 0; i < 2; i++) {
    expect((await api('GET', '/v1/regions', secret, undefined, second.url)).status).toBe(200);
  }
}

/** How long until `secret` gets 401 on the second gateway (polled every 20 ms, up to 5 s). */
async function msUntilRefused(secret: string, since: number): Promise<number> {
  const { ok } = await eventually(
    async () => (await api('GET', '/v1/regions', secret, undefined, second.url)).status === 401,
    5_000,
    20,
  );
  expect(ok).toBe(true);
  return Date.now() - since;
}

async function newProject(token: string, name = `p-${randomUUID().slice(0, 6)}`) {
  const res = await api('POST', '/v1/projects', token, { name, region: 'eu-west' });
  expect(res.status).toBe(201);
  return res.json as { id: string; name: string; region: string; created_at: string };
}

async function newKey(token: string, projectId: string, extra: Record<string, unknown> = {}) {
  const res = await api('POST', '/v1/keys', token, {
    project_id: projectId,
    name: `k-${randomUUID().slice(0, 6)}`,
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.json as { id: string; secret: string; [field: string]: unknown };
}

/** `by` invites `who` to a project, and `who` accepts with their own key: how members join. */
async function join(projectId: string, by: string, who: Tenant, role: string) {
  const invited = await api('POST', `/v1/projects/${projectId}/members`, by, {
    email: who.email,
    role,
  });
  expect(invited.status).toBe(201);
  const accepted = await api('POST', `/v1/invitations/${invited.json.id}/accept`, who.secret);
  expect(accepted.status).toBe(200);
  return accepted.json as { id: string; status: string };
}

describe('projects', () => {
  it('GET returns the project; PATCH renames it; the list shows the new name', async () => {
    const project = await newProject(alice.secret, 'to-rename');
    const got = await api('GET', `/v1/projects/${project.id}`, alice.secret);
    expect(got.status).toBe(200);
    expect(got.json).toEqual({
      id: project.id,
      name: 'to-rename',
      region: 'eu-west',
      created_at: expect.stringMatching(TIME),
    });
    const renamed = await api('PATCH', `/v1/projects/${project.id}`, alice.secret, {
      name: '  renamed  ',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toEqual({ ...got.json, name: 'renamed' });
    expect((await api('GET', `/v1/projects/${project.id}`, alice.secret)).json.name).toBe(
      'renamed',
    );
    const list = await api('GET', '/v1/projects?limit=100', alice.secret);
    expect(list.json.data).toContainEqual(renamed.json);
    expectError(
      await api('PATCH', `/v1/projects/${project.id}`, alice.secret, { name: '' }),
      400,
      'invalid_request',
      'name',
    );
    expectError(
      await api('PATCH', `/v1/projects/${project.id}`, alice.secret, {
        name: 'moved',
        region: 'us-east',
      }),
      400,
      'invalid_request',
      'region',
    );
  });

  it('DELETE revokes its keys on gateway 2 within 1 s; its usage stays readable', async () => {
    const project = await newProject(alice.secret, 'to-delete');
    const key = await newKey(alice.secret, project.id);
    const other = await newKey(alice.secret, alice.project.id);
    await warm(key.secret);
    await warm(other.secret);
    // Requests with the project's key are counted for the project.
    for (let i = 0; i < 5; i++)
      expect((await api('GET', '/v1/regions', key.secret)).status).toBe(200);
    const start = new Date(Date.now() - 600_000).toISOString();
    const usagePath = () =>
      `/v1/usage?project_id=${project.id}&start=${start}` +
      `&end=${new Date(Date.now() + 600_000).toISOString()}&granularity=hour`;
    const counted = await eventually(async () => {
      const res = await api('GET', usagePath(), alice.secret);
      return res.status === 200 && res.json.total_requests >= 7;
    }, 20_000);
    expect(counted.ok).toBe(true);

    const deleted = await api('DELETE', `/v1/projects/${project.id}`, alice.secret);
    const since = Date.now();
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ id: project.id, deleted: true });
    const ms = await msUntilRefused(key.secret, since);
    expect(ms).toBeLessThan(1_000);
    // On the first gateway too, and the key of another project is untouched.
    expect((await api('GET', '/v1/regions', key.secret)).status).toBe(401);
    expect((await api('GET', '/v1/regions', other.secret, undefined, second.url)).status).toBe(200);

    expectError(
      await api('GET', `/v1/projects/${project.id}`, alice.secret),
      404,
      'project_not_found',
      'project_id',
    );
    expectError(
      await api('DELETE', `/v1/projects/${project.id}`, alice.secret),
      404,
      'project_not_found',
      'project_id',
    );
    expectError(
      await api('GET', `/v1/keys?project_id=${project.id}`, alice.secret),
      404,
      'project_not_found',
      'project_id',
    );
    const list = await api('GET', '/v1/projects?limit=100', alice.secret);
    expect(list.json.data.map((p: { id: string }) => p.id)).not.toContain(project.id);
    const row = await db.query<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1',
      [key.id],
    );
    expect(row).toEqual([{ revoked: true }]);

    // Its former owner still reads its usage; nobody else does.
    const usage = await api('GET', usagePath(), alice.secret);
    expect(usage.status).toBe(200);
    expect(usage.json).toMatchObject({ project_id: project.id });
    expect(usage.json.total_requests).toBeGreaterThanOrEqual(7);
    expectError(await api('GET', usagePath(), bob.secret), 404, 'project_not_found', 'project_id');
  });
});

describe('members', () => {
  it('invite by email, accept, list with roles; refuse duplicates and bad roles', async () => {
    const project = await newProject(alice.secret);
    const invited = await api('POST', `/v1/projects/${project.id}/members`, alice.secret, {
      email: bob.email.toUpperCase(),
      role: 'developer',
    });
    expect(invited.status).toBe(201);
    expect(invited.json).toEqual({
      id: expect.stringMatching(/^inv_[0-9A-Za-z]{20}$/),
      project_id: project.id,
      project_name: project.name,
      email: bob.email,
      role: 'developer',
      invited_by: alice.user.id,
      status: 'pending',
      created_at: expect.stringMatching(TIME),
      expires_at: expect.stringMatching(TIME),
    });
    const waiting = await api('GET', '/v1/invitations', bob.secret);
    expect(waiting.status).toBe(200);
    expect(waiting.json.data.map((i: { id: string }) => i.id)).toContain(invited.json.id);
    const pending = await api('GET', `/v1/projects/${project.id}/invitations`, alice.secret);
    expect(pending.json.data.map((i: { id: string }) => i.id)).toEqual([invited.json.id]);
    const accepted = await api('POST', `/v1/invitations/${invited.json.id}/accept`, bob.secret);
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ id: invited.json.id, status: 'accepted' });
    expectError(
      await api('POST', `/v1/invitations/${invited.json.id}/accept`, bob.secret),
      404,
      'not_found',
      'id',
    );
    const list = await api('GET', `/v1/projects/${project.id}/members`, alice.secret);
    expect(list.status).toBe(200);
    expect(list.json.has_more).toBe(false);
    expect(list.json.data.map((m: any) => [m.user_id, m.role])).toEqual(
      expect.arrayContaining([
        [alice.user.id, 'owner'],
        [bob.user.id, 'developer'],
      ]),
    );
    expect(list.json.data).toHaveLength(2);
    const page = await api('GET', `/v1/projects/${project.id}/members?limit=1`, alice.secret);
    expect(page.json).toMatchObject({ has_more: true, data: [expect.any(Object)] });
    // Anyone can be invited, account or not; the invitation can be revoked.
    const nobody = await api('POST', `/v1/projects/${project.id}/members`, alice.secret, {
      email: `nobody-${randomUUID()}@example.com`,
      role: 'viewer',
    });
    expect(nobody.status).toBe(201);
    const revoked = await api(
      'DELETE',
      `/v1/projects/${project.id}/invitations/${nobody.json.id}`,
      alice.secret,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ id: nobody.json.id, status: 'revoked' });
    expectError(
      await api('DELETE', `/v1/projects/${project.id}/invitations/${nobody.json.id}`, alice.secret),
      409,
      'conflict',
      'invitation_id',
    );
    expectError(
      await api('POST', `/v1/projects/${project.id}/members`, alice.secret, {
        email: bob.email,
        role: 'viewer',
      }),
      409,
      'conflict',
      'email',
    );
    expectError(
      await api('POST', `/v1/projects/${project.id}/members`, alice.secret, {
        email: carol.email,
        role: 'superuser',
      }),
      400,
      'invalid_request',
      'role',
    );
  });

  it('the last owner cannot be removed (409); with two owners, one can go', async () => {
    const project = await newProject(alice.secret);
    expectError(
      await api('DELETE', `/v1/projects/${project.id}/members/${alice.user.id}`, alice.secret),
      409,
      'conflict',
      'user_id',
    );
    await join(project.id, alice.secret, carol, 'owner');
    // Now carol, an owner, may remove alice; and then carol is the last owner.
    const removed = await api(
      'DELETE',
      `/v1/projects/${project.id}/members/${alice.user.id}`,
      carol.secret,
    );
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ id: alice.user.id, deleted: true });
    expectError(
      await api('GET', `/v1/projects/${project.id}`, alice.secret),
      404,
      'project_not_found',
      'project_id',
    );
    expectError(
      await api('DELETE', `/v1/projects/${project.id}/members/${carol.user.id}`, carol.secret),
      409,
      'conflict',
      'user_id',
    );
    expectError(
      await api('DELETE', `/v1/projects/${project.id}/members/${alice.user.id}`, carol.secret),
      404,
      'not_found',
      'user_id',
    );
  });

  it('PATCH a member’s role: admins for non-owners, owners for owners, never the last', async () => {
    const project = await newProject(alice.secret);
    await join(project.id, alice.secret, bob, 'developer');
    await join(project.id, alice.secret, carol, 'admin');
    const path = (who: Tenant) => `/v1/projects/${project.id}/members/${who.user.id}`;
    const listed = await api('GET', `/v1/projects/${project.id}/members`, alice.secret);
    const bobListed = listed.json.data.find((m: { user_id: string }) => m.user_id === bob.user.id);

    // Bob's key works for writes on the second gateway while he is a developer...
    const bobsKey = await newKey(bob.secret, project.id);
    await warm(bobsKey.secret);
    const asDeveloper = await api(
      'POST',
      '/v1/keys',
      bobsKey.secret,
      { project_id: project.id, name: 'as a developer' },
      second.url,
    );
    expect(asDeveloper.status).toBe(201);
    const demoted = await api('PATCH', path(bob), carol.secret, { role: 'viewer' });
    expect(demoted.status).toBe(200);
    expect(demoted.json).toEqual({ ...bobListed, role: 'viewer' });
    // ...and acts as a viewer from the next request on: no role is cached by a gateway.
    expectError(
      await api(
        'POST',
        '/v1/keys',
        bobsKey.secret,
        { project_id: project.id, name: 'as a viewer' },
        second.url,
      ),
      403,
      'forbidden',
    );
    expect((await api('GET', `/v1/projects/${project.id}`, bobsKey.secret)).status).toBe(200);

    // A viewer changes no roles, not even their own.
    expectError(await api('PATCH', path(bob), bob.secret, { role: 'developer' }), 403, 'forbidden');
    // An admin makes no owner and changes no owner's role; an owner does.
    const refused = await api('PATCH', path(bob), carol.secret, { role: 'owner' });
    expectError(refused, 403, 'forbidden');
    expect(refused.json.error.message).toMatch(/cannot make someone an owner/);
    expectError(await api('PATCH', path(alice), carol.secret, { role: 'admin' }), 403, 'forbidden');
    expect((await api('PATCH', path(bob), alice.secret, { role: 'owner' })).json.role).toBe(
      'owner',
    );
    // Two owners: alice may step down; then bob is the last owner and cannot.
    expect((await api('PATCH', path(alice), alice.secret, { role: 'admin' })).json).toMatchObject({
      user_id: alice.user.id,
      role: 'admin',
    });
    const last = await api('PATCH', path(bob), bob.secret, { role: 'developer' });
    expectError(last, 409, 'conflict', 'role');
    expect(last.json.error.message).toMatch(/last owner/);

    // A user who is not a member of this project (carol's own project is elsewhere).
    const stranger = await platform.tenant('stranger');
    expectError(
      await api('PATCH', path(stranger), bob.secret, { role: 'viewer' }),
      404,
      'not_found',
      'user_id',
    );
    // Bad input is 400 naming the field, never a 500.
    expectError(
      await api('PATCH', path(carol), bob.secret, { role: 'superuser' }),
      400,
      'invalid_request',
      'role',
    );
    expectError(
      await api('PATCH', path(carol), bob.secret, { role: 'viewer', email: carol.email }),
      400,
      'invalid_request',
      'email',
    );
    expectError(await api('PATCH', path(carol), bob.secret, {}), 400, 'invalid_request', 'role');
    expectError(
      await api('PATCH', `/v1/projects/${project.id}/members/key_x`, bob.secret, {
        role: 'viewer',
      }),
      400,
      'invalid_request',
      'user_id',
    );
    const members = await api('GET', `/v1/projects/${project.id}/members`, bob.secret);
    expect(Object.fromEntries(members.json.data.map((m: any) => [m.user_id, m.role]))).toEqual({
      [alice.user.id]: 'admin',
      [bob.user.id]: 'owner',
      [carol.user.id]: 'admin',
    });

    // A deleted project: 404 project_not_found, as for every other member route.
    expect((await api('DELETE', `/v1/projects/${project.id}`, bob.secret)).status).toBe(200);
    expectError(
      await api('PATCH', path(carol), bob.secret, { role: 'viewer' }),
      404,
      'project_not_found',
      'project_id',
    );
  });

  it('a removed member’s key of the project fails at the second gateway within 1 s', async () => {
    const project = await newProject(alice.secret);
    await join(project.id, alice.secret, bob, 'developer');
    // Bob's key for alice's project: it acts for bob.
    const bobsKey = await newKey(bob.secret, project.id);
    expect(bobsKey).toMatchObject({ project_id: project.id, created_by: bob.user.id });
    await warm(bobsKey.secret);
    await warm(bob.secret);

    const removed = await api(
      'DELETE',
      `/v1/projects/${project.id}/members/${bob.user.id}`,
      alice.secret,
    );
    const since = Date.now();
    expect(removed.status).toBe(200);
    expect(await msUntilRefused(bobsKey.secret, since)).toBeLessThan(1_000);
    // Bob's key for his own project keeps working; he no longer sees alice's project.
    expect((await api('GET', '/v1/regions', bob.secret, undefined, second.url)).status).toBe(200);
    expectError(
      await api('GET', `/v1/projects/${project.id}`, bob.secret, undefined, second.url),
      404,
      'project_not_found',
      'project_id',
    );
    const list = await api('GET', `/v1/projects/${project.id}/members`, alice.secret);
    expect(list.json.data.map((m: { user_id: string }) => m.user_id)).toEqual([alice.user.id]);
  });
});

describe('keys', () => {
  it('rotation with a grace period: both secrets work, on both gateways', async () => {
    const key = await newKey(alice.secret, alice.project.id);
    await warm(key.secret);
    const rotated = await api('POST', `/v1/keys/${key.id}/rotate`, alice.secret, {
      grace_period_seconds: 3600,
    });
    expect(rotated.status).toBe(200);
    const fresh = rotated.json.secret as string;
    expect(fresh).toMatch(/^sk_live_/);
    expect(fresh).not.toBe(key.secret);
    expect(rotated.json).toMatchObject({ id: key.id, redacted: `sk_live_…${fresh.slice(-4)}` });
    const until = Date.parse(rotated.json.previous_secret_expires_at);
    expect(Math.abs(until - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    for (const base of [platform.url(), second.url]) {
      for (const secret of [key.secret, fresh]) {
        expect((await api('GET', '/v1/projects', secret, undefined, base)).status).toBe(200);
      }
    }
  });

  it('rotation without grace: the old secret gets 401 on gateway 2 within 1 s', async () => {
    const key = await newKey(alice.secret, alice.project.id);
    await warm(key.secret);
    const rotated = await api('POST', `/v1/keys/${key.id}/rotate`, alice.secret, {
      grace_period_seconds: 0,
    });
    const since = Date.now();
    expect(rotated.status).toBe(200);
    expect(rotated.json.previous_secret_expires_at ?? null).toBeNull();
    expect(await msUntilRefused(key.secret, since)).toBeLessThan(1_000);
    expect(
      (await api('GET', '/v1/projects', rotated.json.secret, undefined, second.url)).status,
    ).toBe(200);
    expectError(
      await api('POST', `/v1/keys/${key.id}/rotate`, alice.secret, { grace_period_seconds: -1 }),
      400,
      'invalid_request',
      'grace_period_seconds',
    );
    expectError(
      await api('POST', `/v1/keys/${key.id}/rotate`, alice.secret, {
        grace_period_seconds: 604_801,
      }),
      400,
      'invalid_request',
      'grace_period_seconds',
    );
  });

  it('expires_at in the past, now or malformed is refused', async () => {
    for (const expires of [
      new Date(Date.now() - 60_000).toISOString(),
      '2020-01-01T00:00:00Z',
      new Date().toISOString(),
      'tomorrow',
      '2030-02-30T00:00:00Z',
    ]) {
      expectError(
        await api('POST', '/v1/keys', alice.secret, {
          project_id: alice.project.id,
          name: 'past',
          expires_at: expires,
        }),
        400,
        'invalid_request',
        'expires_at',
      );
    }
  });

  it('a key with expires_at a few seconds ahead works until then, and then gets 401', async () => {
    const expires = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000);
    const key = await newKey(alice.secret, alice.project.id, {
      expires_at: expires.toISOString(),
    });
    expect(Date.parse(key.expires_at as string)).toBe(expires.getTime());
    await warm(key.secret);
    expect((await api('GET', '/v1/projects', key.secret)).status).toBe(200);
    const refused = await eventually(
      async () =>
        (await api('GET', '/v1/regions', key.secret)).status === 401 &&
        (await api('GET', '/v1/regions', key.secret, undefined, second.url)).status === 401,
      10_000,
      50,
    );
    expect(refused.ok).toBe(true);
    // Not before its time (a little clock slack), and not long after.
    expect(Date.now()).toBeGreaterThanOrEqual(expires.getTime() - 100);
    expect(Date.now() - expires.getTime()).toBeLessThan(2_000);
  });

  it('last_used_at is set after use (batched: KEY_TOUCH_FLUSH_MS=200)', async () => {
    const key = await newKey(alice.secret, alice.project.id);
    expect(key.last_used_at).toBeNull();
    const before = Date.now();
    expect((await api('GET', '/v1/regions', key.secret)).status).toBe(200);
    const listed = () =>
      api('GET', `/v1/keys?project_id=${alice.project.id}&limit=100`, alice.secret).then(
        (r) => r.json.data.find((k: { id: string }) => k.id === key.id) as { last_used_at: string },
      );
    const set = await eventually(async () => (await listed()).last_used_at !== null, 5_000, 100);
    expect(set.ok).toBe(true);
    const at = Date.parse((await listed()).last_used_at);
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('revoke answers the revoked key, and the key stops working', async () => {
    const key = await newKey(alice.secret, alice.project.id);
    const res = await api('POST', `/v1/keys/${key.id}/revoke`, alice.secret);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: key.id, revoked_at: expect.stringMatching(TIME) });
    expect(res.json).not.toHaveProperty('secret');
    expect((await api('GET', '/v1/regions', key.secret)).status).toBe(401);
  });
});

describe('support tickets', () => {
  let own: string[];

  beforeAll(async () => {
    // Request ids of alice's earlier requests, from their Request-Id headers: one made with
    // her operator-made key, one with a key she made through the API.
    const other = await newKey(alice.secret, alice.project.id);
    own = [
      (await api('GET', '/v1/regions', alice.secret)).headers.get('request-id')!,
      (await api('GET', '/v1/projects', other.secret)).headers.get('request-id')!,
    ];
  });

  it('create with your own request ids → 201; list and get', async () => {
    const created = await api('POST', '/v1/support/tickets', alice.secret, {
      subject: 'Unexpected 503',
      body: 'These failed.',
      request_ids: own,
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.stringMatching(/^tkt_/),
      subject: 'Unexpected 503',
      body: 'These failed.',
      status: 'open',
      request_ids: own,
      created_at: expect.stringMatching(TIME),
      updated_at: expect.stringMatching(TIME),
    });
    const got = await api('GET', `/v1/support/tickets/${created.json.id}`, alice.secret);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(created.json);
    const list = await api('GET', '/v1/support/tickets', alice.secret);
    expect(list.status).toBe(200);
    expect(list.json.data).toContainEqual(created.json);
    // Without request ids, too.
    const bare = await api('POST', '/v1/support/tickets', alice.secret, {
      subject: 'A question',
      body: 'No request in particular.',
    });
    expect(bare.status).toBe(201);
    expect(bare.json.request_ids).toEqual([]);
  });

  it('another user’s request id → 400 request_ids.<index>; malformed ones → 400', async () => {
    const bobs = (await api('GET', '/v1/regions', bob.secret)).headers.get('request-id')!;
    expectError(
      await api('POST', '/v1/support/tickets', alice.secret, {
        subject: 's',
        body: 'b',
        request_ids: [bobs],
      }),
      400,
      'invalid_request',
      'request_ids.0',
    );
    expectError(
      await api('POST', '/v1/support/tickets', alice.secret, {
        subject: 's',
        body: 'b',
        request_ids: [own[0], bobs],
      }),
      400,
      'invalid_request',
      'request_ids.1',
    );
    // A request id of the right shape that no gateway signed for alice.
    expectError(
      await api('POST', '/v1/support/tickets', alice.secret, {
        subject: 's',
        body: 'b',
        request_ids: [`req_${'A'.repeat(20)}`],
      }),
      400,
      'invalid_request',
      'request_ids.0',
    );
    for (const request_ids of [['prj_aaaaaaaaaaaaaaaaaaaa'], [own[0], own[0]], 'req_x']) {
      const res = await api('POST', '/v1/support/tickets', alice.secret, {
        subject: 's',
        body: 'b',
        request_ids,
      });
      expect(res.status).toBe(400);
      expect(res.json.error.param).toMatch(/^request_ids/);
    }
  });

  it('lists page with limit and starting_after, newest first', async () => {
    const made: string[] = [];
    for (const subject of ['one', 'two', 'three']) {
      const res = await api('POST', '/v1/support/tickets', carol.secret, { subject, body: 'b' });
      made.push(res.json.id);
    }
    const first = await api('GET', '/v1/support/tickets?limit=2', carol.secret);
    expect(first.json.data.map((t: { id: string }) => t.id)).toEqual([made[2], made[1]]);
    expect(first.json.has_more).toBe(true);
    const rest = await api(
      'GET',
      `/v1/support/tickets?limit=2&starting_after=${made[1]}`,
      carol.secret,
    );
    expect(rest.json).toEqual({
      data: [expect.objectContaining({ id: made[0] })],
      has_more: false,
    });
    expectError(
      await api('GET', `/v1/support/tickets/${made[0]}`, alice.secret),
      404,
      'not_found',
      'id',
    );
  });
});

describe('OAuth clients', () => {
  it('POST shows the secret once, the list never; the secret works at /oauth/token', async () => {
    const created = await api('POST', '/v1/oauth/clients', alice.secret, {
      name: 'Alice’s app',
      redirect_uris: ['https://alice.example.com/callback'],
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({
      id: expect.stringMatching(/^cli_/),
      name: 'Alice’s app',
      type: 'confidential',
      redirect_uris: ['https://alice.example.com/callback'],
      created_at: expect.stringMatching(TIME),
      client_secret: expect.stringMatching(/^[0-9A-Za-z]{43}$/),
    });
    const pub = await api('POST', '/v1/oauth/clients', alice.secret, {
      name: 'Alice’s CLI',
      redirect_uris: ['http://127.0.0.1:8765/callback'],
      type: 'public',
    });
    expect(pub.status).toBe(201);
    expect(pub.json).not.toHaveProperty('client_secret');

    const list = await api('GET', '/v1/oauth/clients?limit=100', alice.secret);
    expect(list.status).toBe(200);
    const { client_secret: secret, ...shown } = created.json;
    expect(list.json.data).toContainEqual(shown);
    expect(list.json.data.map((c: { id: string }) => c.id)).toContain(pub.json.id);
    expect(list.text).not.toContain(secret);
    for (const c of list.json.data) expect(c).not.toHaveProperty('client_secret');
    const stored = await db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM oauth_clients WHERE id = $1',
      [created.json.id],
    );
    expect(stored[0].secret_hash).not.toContain(secret);

    // The secret shown once is the one the authorization server accepts.
    const grant = await oauthAccessToken(platform, alice, {
      client: created.json,
      scopes: ['openid', 'projects:read'],
    });
    const me = await api('GET', '/v1/user', grant.access_token);
    expect(me.json).toMatchObject({ id: alice.user.id });
    // Bob does not see alice's clients.
    const bobs = await api('GET', '/v1/oauth/clients?limit=100', bob.secret);
    expect(bobs.json.data.map((c: { id: string }) => c.id)).not.toContain(created.json.id);
  });

  it('refuses redirect URIs not https (but loopback) or with a fragment', async () => {
    for (const uri of ['http://app.example.com/cb', 'https://app.example.com/cb#x', 'nope']) {
      expectError(
        await api('POST', '/v1/oauth/clients', alice.secret, { name: 'x', redirect_uris: [uri] }),
        400,
        'invalid_request',
        'redirect_uris',
      );
    }
  });
});
