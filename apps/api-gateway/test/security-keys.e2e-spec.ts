/**
 * The API-key model's security findings (issue 10, items 1, 2, 3, 4 and 7), through the booted
 * apps: an admin cannot obtain the owner's secret by rotation, a key can be confined to its
 * project, a key minted by an OAuth app dies with the app's grant, a removed member's keys stay
 * dead when they come back, and neither rate limits nor key and client counts are unbounded.
 */
import {
  DEFAULT_PROJECT_RATE_LIMIT,
  MAX_LIVE_KEYS_PER_PROJECT,
  MAX_OAUTH_CLIENTS_PER_USER,
} from '@cap/contracts';
import {
  adminWithRetry,
  apiRequest,
  clientSecretBasic,
  DbSnapshotter,
  eventually,
  expectError,
  OAuthClientCreated,
  oauthAccessToken,
  snapshotDiff,
  Tenant,
  TestPlatform,
} from '@cap/testing';

let platform: TestPlatform;
let db: DbSnapshotter;
let alice: Tenant;
let bob: Tenant;

const since = new Date(Date.now() - 10 * 60_000).toISOString();
const until = () => new Date(Date.now() + 10 * 60_000).toISOString();

beforeAll(async () => {
  platform = await TestPlatform.start([
    'projects-service',
    'auth-server',
    'usage-worker',
    'api-gateway',
  ]);
  db = await DbSnapshotter.connect(platform.db.url);
  [alice, bob] = [await platform.tenant('alice'), await platform.tenant('bob')];
}, 180_000);

afterAll(async () => {
  await db?.close();
  await platform?.stop();
});

const api = (method: string, path: string, token: string, body?: unknown) =>
  apiRequest(platform.url(), method, path, { token, body });

async function newKey(token: string, body: Record<string, unknown>) {
  const res = await api('POST', '/v1/keys', token, { name: 'k', ...body });
  expect({ status: res.status, body: res.json }).toMatchObject({ status: 201 });
  return res.json as { id: string; secret: string; project_access: string };
}

async function newProject(token: string) {
  const res = await api('POST', '/v1/projects', token, { name: 'second', region: 'eu-west' });
  expect(res.status).toBe(201);
  return res.json as { id: string };
}

async function revokedAt(keyId: string): Promise<unknown> {
  const rows = await db.query<{ revoked_at: Date | null }>(
    'SELECT revoked_at FROM api_keys WHERE id = $1',
    [keyId],
  );
  return rows[0]?.revoked_at ?? null;
}

describe('security: rotation is the creator’s alone (item 1)', () => {
  it('an admin rotating the owner’s key gets 403, no secret, and the owner’s key is unchanged', async () => {
    const owner = await platform.tenant('owner');
    await platform.addMember(owner.project.id, owner.secret, bob.email, 'admin');
    const before = await db.snapshot();
    const res = await api('POST', `/v1/keys/${owner.key.id}/rotate`, bob.secret, {
      grace_period_seconds: 604_800,
    });
    expectError(res, 403, 'forbidden');
    expect(res.json.error.message).toMatch(/only the key's creator can rotate it/i);
    expect(res.text).not.toMatch(/sk_live_/);
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});
    // The owner's secret still acts as the owner; the admin may revoke it instead.
    expect((await api('GET', '/v1/projects', owner.secret)).status).toBe(200);
    const revoked = await api('POST', `/v1/keys/${owner.key.id}/revoke`, bob.secret);
    expect(revoked.status).toBe(200);
  });

  it('a secret rotated away keeps working in its grace period but mints nothing', async () => {
    const t = await platform.tenant('leaked');
    const rotated = await api('POST', `/v1/keys/${t.key.id}/rotate`, t.secret, {
      grace_period_seconds: 600,
    });
    expect(rotated.status).toBe(200);
    const before = await db.snapshot();
    // The old (perhaps leaked) secret still calls the API during the grace period ...
    expect((await api('GET', '/v1/projects', t.secret)).status).toBe(200);
    // ... but cannot end the new secret, nor make a key or an app that would outlive it.
    for (const [path, body] of [
      [`/v1/keys/${t.key.id}/rotate`, { grace_period_seconds: 0 }],
      ['/v1/keys', { project_id: t.project.id, name: 'escape' }],
      ['/v1/oauth/clients', { name: 'escape', redirect_uris: ['https://x.example/cb'] }],
    ] as const) {
      const res = await api('POST', path, t.secret, body);
      expectError(res, 403, 'forbidden');
      expect(res.json.error.message).toMatch(/secret was rotated/);
      expect(res.text).not.toMatch(/sk_live_|client_secret/);
    }
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});
    // The new secret may.
    expect(
      (await api('POST', '/v1/keys', rotated.json.secret, { project_id: t.project.id, name: 'k' }))
        .status,
    ).toBe(201);
  });

  it('a keys:write-only key cannot rotate a full-scope key of the same user (403 scopes)', async () => {
    const narrow = await newKey(alice.secret, {
      project_id: alice.project.id,
      scopes: ['keys:write'],
    });
    const res = await api('POST', `/v1/keys/${alice.key.id}/rotate`, narrow.secret, {
      grace_period_seconds: 0,
    });
    expectError(res, 403, 'insufficient_scope', 'scopes');
    expect((await api('GET', '/v1/projects', alice.secret)).status).toBe(200);
  });
});

describe('security: project-confined keys (item 2)', () => {
  let other: { id: string };
  let confined: { id: string; secret: string; project_access: string };

  beforeAll(async () => {
    other = await newProject(alice.secret);
    confined = await newKey(alice.secret, { project_id: alice.project.id, project_access: 'own' });
  });

  it('shows the restriction in the key, the key list and the OpenAPI document', async () => {
    expect(confined.project_access).toBe('own');
    const list = await api('GET', `/v1/keys?project_id=${alice.project.id}`, alice.secret);
    const byId = new Map(
      list.json.data.map((k: { id: string; project_access: string }) => [k.id, k]),
    );
    expect(byId.get(confined.id)).toMatchObject({ project_access: 'own' });
    expect(byId.get(alice.key.id)).toMatchObject({ project_access: 'member' });
    const doc = (await apiRequest(platform.url(), 'GET', '/v1/openapi.json')).json;
    expect(doc.components.schemas.ApiKey.properties.project_access.enum.sort()).toEqual([
      'member',
      'own',
    ]);
  });

  it('other projects of its creator look absent; it lists only its project', async () => {
    const before = await db.snapshot();
    for (const [method, path, body] of [
      ['GET', `/v1/projects/${other.id}`],
      ['PATCH', `/v1/projects/${other.id}`, { name: 'x' }],
      ['DELETE', `/v1/projects/${other.id}`],
      ['GET', `/v1/projects/${other.id}/members`],
      ['GET', `/v1/keys?project_id=${other.id}`],
      ['POST', '/v1/keys', { project_id: other.id, name: 'k', project_access: 'own' }],
      ['GET', `/v1/usage?project_id=${other.id}&start=${since}&end=${until()}`],
    ] as Array<[string, string, unknown?]>) {
      const res = await api(method, path, confined.secret, body);
      expect({ path, method, status: res.status, code: res.json?.error?.code }).toEqual({
        path,
        method,
        status: 404,
        code: 'project_not_found',
      });
    }
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});
    const list = await api('GET', '/v1/projects?limit=100', confined.secret);
    expect(list.json.data.map((p: { id: string }) => p.id)).toEqual([alice.project.id]);
    expect((await api('GET', `/v1/projects/${alice.project.id}`, confined.secret)).status).toBe(
      200,
    );
  });

  it('cannot create projects, OAuth clients or unconfined keys (403)', async () => {
    const before = await db.snapshot();
    const project = await api('POST', '/v1/projects', confined.secret, {
      name: 'escape',
      region: 'us-east',
    });
    expectError(project, 403, 'forbidden');
    expect(project.json.error.message).toMatch(/confined to project/);
    expectError(
      await api('POST', '/v1/oauth/clients', confined.secret, {
        name: 'escape',
        redirect_uris: ['https://app.example.com/cb'],
      }),
      403,
      'forbidden',
    );
    expectError(
      await api('POST', '/v1/keys', confined.secret, {
        project_id: alice.project.id,
        name: 'wide',
        project_access: 'member',
      }),
      403,
      'forbidden',
    );
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});
    // What it may: list clients, and make a key that is confined too.
    expect((await api('GET', '/v1/oauth/clients', confined.secret)).status).toBe(200);
    const child = await newKey(confined.secret, { project_id: alice.project.id });
    expect(child.project_access).toBe('own');
  });
});

describe('security: a key minted by an OAuth app dies with the grant (item 3)', () => {
  it('revoking the app’s refresh token makes the key 401 within ~1 s and sets revoked_at', async () => {
    const grant = await oauthAccessToken(platform, alice, {
      scopes: ['openid', 'keys:write', 'projects:read'],
    });
    expect(grant.refresh_token).toEqual(expect.any(String));
    const minted = await newKey(grant.access_token, { project_id: alice.project.id });
    expect((await api('GET', '/v1/projects', minted.secret)).status).toBe(200);
    const stored = await db.query<{ grant_id: string | null }>(
      'SELECT grant_id FROM api_keys WHERE id = $1',
      [minted.id],
    );
    expect(stored[0].grant_id).toEqual(expect.any(String));

    const revoke = await fetch(`${platform.url('auth-server')}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: clientSecretBasic(grant.client.id, grant.client.client_secret!),
      },
      body: new URLSearchParams({
        token: grant.refresh_token!,
        token_type_hint: 'refresh_token',
      }).toString(),
    });
    expect(revoke.status).toBe(200);
    const started = Date.now();
    const refused = await eventually(
      async () => (await api('GET', '/v1/projects', minted.secret)).status === 401,
      5_000,
      20,
    );
    expect(refused.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_500);
    const gone = await eventually(async () => (await revokedAt(minted.id)) !== null, 2_000);
    expect(gone.ok).toBe(true);
    // The user's own key is not the app's: it keeps working.
    expect((await api('GET', '/v1/projects', alice.secret)).status).toBe(200);
  });

  it('but a key made in the operator’s console (first party) outlives its sign-in', async () => {
    const consoleClient = await adminWithRetry<OAuthClientCreated>(platform, [
      'create-client',
      '--owner',
      alice.email,
      '--name',
      'Operator console',
      '--redirect-uri',
      'https://console.example.com/auth/callback',
      '--first-party',
    ]);
    const session = await oauthAccessToken(platform, alice, {
      client: consoleClient,
      scopes: ['openid', 'keys:write', 'projects:read'],
    });
    const made = await newKey(session.access_token, { project_id: alice.project.id });
    const stored = await db.query<{ grant_id: string | null }>(
      'SELECT grant_id FROM api_keys WHERE id = $1',
      [made.id],
    );
    expect(stored[0].grant_id).toBeNull();

    // Sign-out: the console revokes its refresh token, which ends the grant.
    const revoke = await fetch(`${platform.url('auth-server')}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: clientSecretBasic(consoleClient.id, consoleClient.client_secret!),
      },
      body: new URLSearchParams({
        token: session.refresh_token!,
        token_type_hint: 'refresh_token',
      }).toString(),
    });
    expect(revoke.status).toBe(200);
    // The session's own access token is refused at once…
    const ended = await eventually(
      async () => (await api('GET', '/v1/projects', session.access_token)).status === 401,
      5_000,
      20,
    );
    expect(ended.ok).toBe(true);
    // …while the key made in it is the user's, and keeps working.
    await new Promise((r) => setTimeout(r, 500));
    expect((await api('GET', '/v1/projects', made.secret)).status).toBe(200);
    expect(await revokedAt(made.id)).toBeNull();
  });
});

describe('security: removing a member revokes their keys for good (item 4)', () => {
  it('remove, re-add: the old key stays 401 and its revoked_at is set', async () => {
    const owner = await platform.tenant('team');
    const dev = await platform.tenant('dev');
    await platform.addMember(owner.project.id, owner.secret, dev.email, 'developer');
    const devKey = await newKey(dev.secret, { project_id: owner.project.id });
    expect((await api('GET', `/v1/projects/${owner.project.id}`, devKey.secret)).status).toBe(200);

    const removed = await api(
      'DELETE',
      `/v1/projects/${owner.project.id}/members/${dev.user.id}`,
      owner.secret,
    );
    expect(removed.status).toBe(200);
    expect(await revokedAt(devKey.id)).toBeInstanceOf(Date);
    // Back in the project (not asked about the key in between, so nothing cached refuses it).
    await platform.addMember(owner.project.id, owner.secret, dev.email, 'developer');
    expectError(await api('GET', '/v1/regions', devKey.secret), 401, 'unauthenticated');
    expect(await revokedAt(devKey.id)).toBeInstanceOf(Date);
    // Their own key acts in the project again; only the old key of it is gone.
    expect((await api('GET', `/v1/projects/${owner.project.id}`, dev.secret)).status).toBe(200);
  });
});

describe('security: limits (item 7)', () => {
  it(`a key's rate_limit may not exceed its project's (${DEFAULT_PROJECT_RATE_LIMIT}/min by default)`, async () => {
    const t = await platform.tenant('limits');
    const before = await db.snapshot();
    const res = await api('POST', '/v1/keys', t.secret, {
      project_id: t.project.id,
      name: 'unlimited',
      rate_limit: DEFAULT_PROJECT_RATE_LIMIT + 1,
    });
    expectError(res, 400, 'invalid_request', 'rate_limit');
    expect(res.json.error.message).toContain(`limit of ${DEFAULT_PROJECT_RATE_LIMIT}`);
    expectError(
      await api('POST', '/v1/keys', t.secret, {
        project_id: t.project.id,
        name: 'off',
        rate_limit: 100_000_000,
      }),
      400,
      'invalid_request',
      'rate_limit',
    );
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});

    // An operator raises the project's limit: the key without a limit of its own gets it.
    expect(
      await platform.admin(['set-project-limit', '--project', t.project.id, '--limit', '900']),
    ).toEqual({ project_id: t.project.id, rate_limit: 900 });
    const fast = await newKey(t.secret, { project_id: t.project.id, rate_limit: 800 });
    const policy = async (secret: string) =>
      (await api('GET', '/v1/regions', secret)).headers.get('ratelimit-policy');
    // Gateways are told to forget the project's keys, and learn the new limit on next use.
    const raised = await eventually(
      async () => (await policy(t.secret)) === '"default";q=900;w=60',
    );
    expect(raised.ok).toBe(true);
    expect(await policy(fast.secret)).toBe('"default";q=800;w=60');
    // Lowered again: it caps the keys' own limits at once.
    await platform.admin(['set-project-limit', '--project', t.project.id, '--limit', '50']);
    const capped = await eventually(
      async () => (await policy(fast.secret)) === '"default";q=50;w=60',
    );
    expect(capped.ok).toBe(true);
  });

  it(`a project holds at most ${MAX_LIVE_KEYS_PER_PROJECT} live keys (409 quota_exceeded)`, async () => {
    const t = await platform.tenant('many-keys');
    // The tenant's own key is the first.
    for (let i = 1; i < MAX_LIVE_KEYS_PER_PROJECT; i++) {
      const res = await api('POST', '/v1/keys', t.secret, {
        project_id: t.project.id,
        name: `k${i}`,
      });
      expect(res.status).toBe(201);
    }
    const over = await api('POST', '/v1/keys', t.secret, {
      project_id: t.project.id,
      name: 'one more',
    });
    expectError(over, 409, 'quota_exceeded');
    expect(over.json.error.message).toContain(String(MAX_LIVE_KEYS_PER_PROJECT));
  }, 120_000);

  it(`a user registers at most ${MAX_OAUTH_CLIENTS_PER_USER} OAuth clients (409 quota_exceeded)`, async () => {
    const t = await platform.tenant('many-apps');
    const register = (i: number) =>
      api('POST', '/v1/oauth/clients', t.secret, {
        name: `app ${i}`,
        redirect_uris: ['https://app.example.com/cb'],
      });
    for (let i = 0; i < MAX_OAUTH_CLIENTS_PER_USER; i++)
      expect((await register(i)).status).toBe(201);
    const over = await register(MAX_OAUTH_CLIENTS_PER_USER);
    expectError(over, 409, 'quota_exceeded');
    expect(over.json.error.message).toContain(String(MAX_OAUTH_CLIENTS_PER_USER));
    expect(await db.count('oauth_clients', 'owner_id = $1', [t.user.id])).toBe(
      MAX_OAUTH_CLIENTS_PER_USER,
    );
  });

  it('documents the caps and limits in the OpenAPI document', async () => {
    const doc = (await apiRequest(platform.url(), 'GET', '/v1/openapi.json')).json;
    const keys = doc.paths['/v1/keys'].post;
    expect(keys.description).toContain(`at most ${MAX_LIVE_KEYS_PER_PROJECT} live keys`);
    expect(keys.responses['409'].description).toContain('quota_exceeded');
    const clients = doc.paths['/v1/oauth/clients'].post;
    expect(clients.description).toContain(`at most ${MAX_OAUTH_CLIENTS_PER_USER} clients`);
  });
});
