/**
 * The contract's error behaviour through the booted apps: validation, authentication, tenant
 * visibility, body handling, upstream deadlines, and revocation across gateway processes.
 */
import { generateApiKey } from '@cap/auth';
import { RunningApp, Tenant, TestPlatform } from '@cap/testing';

let platform: TestPlatform;
let alice: Tenant;
let bob: Tenant;

beforeAll(async () => {
  platform = await TestPlatform.start();
  [alice, bob] = await Promise.all([platform.tenant('alice'), platform.tenant('bob')]);
});

afterAll(async () => {
  await platform?.stop();
});

async function call(
  method: string,
  path: string,
  options: { key?: string; body?: string; headers?: Record<string, string> } = {},
  base = platform.url(),
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.Authorization = `Bearer ${options.key}`;
  if (options.body !== undefined && !headers['Content-Type']) {
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: options.body });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

function expectError(
  res: Awaited<ReturnType<typeof call>>,
  status: number,
  code: string,
  param?: string,
) {
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  expect(res.json.error.message).toEqual(expect.any(String));
  expect(res.json.error.request_id).toBe(res.headers.get('request-id'));
  expect(res.json.error.request_id).toMatch(/^req_/);
  if (param === undefined) expect(res.json.error).not.toHaveProperty('param');
  else expect(res.json.error.param).toBe(param);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
}

describe('400 invalid_request names the parameter at fault', () => {
  const cases: Array<[string, string, string | undefined, string]> = [
    ['POST', '/v1/projects', '{"region": "us-east"}', 'name'],
    ['POST', '/v1/projects', '{"name": "x"}', 'region'],
    ['POST', '/v1/projects', '{"name": "", "region": "us-east"}', 'name'],
    ['POST', '/v1/projects', '{"name": "x", "region": "mars"}', 'region'],
    ['POST', '/v1/projects', '{"name": "x", "region": "us-east", "owner": "usr_1"}', 'owner'],
    ['POST', '/v1/projects', '{"name": 42, "region": "us-east"}', 'name'],
    ['POST', '/v1/keys', '{"project_id": "nope", "name": "k"}', 'project_id'],
    ['POST', '/v1/keys', '{"project_id": "prj_abc", "name": "k", "scopes": ["root"]}', 'scopes.0'],
    ['POST', '/v1/keys', '{"project_id": "prj_abc", "name": "k", "rate_limit": 1.5}', 'rate_limit'],
    ['GET', '/v1/keys', undefined, 'project_id'],
    ['GET', '/v1/projects?limit=0', undefined, 'limit'],
    ['GET', '/v1/projects?limit=101', undefined, 'limit'],
    ['GET', '/v1/projects?limit=abc', undefined, 'limit'],
    ['GET', '/v1/projects?color=red', undefined, 'color'],
    ['POST', '/v1/keys/not-a-key/revoke', undefined, 'id'],
  ];
  it.each(cases)('%s %s %s → param %s', async (method, path, body, param) => {
    expectError(
      await call(method, path, { key: alice.secret, body }),
      400,
      'invalid_request',
      param,
    );
  });

  it('a body that is not an object is invalid_request without param', async () => {
    expectError(
      await call('POST', '/v1/projects', { key: alice.secret, body: '[1, 2]' }),
      400,
      'invalid_request',
    );
  });
});

describe('bodies the gateway refuses before validation', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    expectError(
      await call('POST', '/v1/projects', { key: alice.secret, body: '{"name": "x",' }),
      400,
      'invalid_json',
    );
  });

  it('a content type other than JSON → 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expectError(
        await call('POST', '/v1/projects', {
          key: alice.secret,
          body: 'name=x',
          headers: { 'Content-Type': type },
        }),
        415,
        'unsupported_media_type',
      );
    }
  });

  it('a body over 1 MiB → 413', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(1024 * 1024), region: 'us-east' });
    expectError(
      await call('POST', '/v1/projects', { key: alice.secret, body }),
      413,
      'payload_too_large',
    );
  });

  it('an unknown route → 404 route_not_found with Request-Id', async () => {
    expectError(await call('GET', '/v1/nope', { key: alice.secret }), 404, 'route_not_found');
  });
});

describe('401: missing, malformed, unknown and revoked keys look the same', () => {
  it('answers each with one identical body and WWW-Authenticate: Bearer', async () => {
    const revoked = await platform.admin<{ id: string; secret: string }>([
      'create-key',
      '--project',
      alice.project.id,
      '--name',
      'to-revoke',
    ]);
    expect((await call('GET', '/v1/projects', { key: revoked.secret })).status).toBe(200);
    await platform.admin(['revoke-key', '--key', revoked.id]);

    const flipped = `${alice.secret.slice(0, -1)}${alice.secret.endsWith('A') ? 'B' : 'A'}`;
    const attempts = [
      await call('GET', '/v1/projects'),
      await call('GET', '/v1/projects', { headers: { Authorization: 'Bearer' } }),
      await call('GET', '/v1/projects', { headers: { Authorization: `Basic ${alice.secret}` } }),
      await call('GET', '/v1/projects', { key: 'sk_live_51L8f9Z8vY8qW8k9fFzq3' }),
      await call('GET', '/v1/projects', { key: flipped }),
      await call('GET', '/v1/projects', { key: generateApiKey() }),
      await call('GET', '/v1/projects', { key: revoked.secret }),
    ];
    const bodies = new Set<string>();
    for (const res of attempts) {
      expectError(res, 401, 'unauthenticated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const { request_id: _ignored, ...rest } = res.json.error;
      bodies.add(JSON.stringify(rest));
    }
    expect(bodies.size).toBe(1);
  });
});

describe('tenants see only their own projects and keys', () => {
  it('lists only the caller’s projects', async () => {
    const res = await call('GET', '/v1/projects', { key: bob.secret });
    expect(res.json.data.map((p: { id: string }) => p.id)).toEqual([bob.project.id]);
  });

  it('another tenant’s project is 404 project_not_found, never 403', async () => {
    expectError(
      await call('POST', '/v1/keys', {
        key: bob.secret,
        body: JSON.stringify({ project_id: alice.project.id, name: 'x' }),
      }),
      404,
      'project_not_found',
      'project_id',
    );
    expectError(
      await call('GET', `/v1/keys?project_id=${alice.project.id}`, { key: bob.secret }),
      404,
      'project_not_found',
      'project_id',
    );
  });

  it('another tenant’s key cannot be revoked: 404 key_not_found, and it keeps working', async () => {
    expectError(
      await call('POST', `/v1/keys/${alice.key.id}/revoke`, { key: bob.secret }),
      404,
      'key_not_found',
      'id',
    );
    expect((await call('GET', '/v1/projects', { key: alice.secret })).status).toBe(200);
  });

  it('a cursor from another tenant is refused', async () => {
    expectError(
      await call('GET', `/v1/projects?starting_after=${alice.project.id}`, { key: bob.secret }),
      400,
      'invalid_request',
      'starting_after',
    );
  });
});

describe('scopes', () => {
  it('a read-only key can list but not create: 403 insufficient_scope', async () => {
    const created = await call('POST', '/v1/keys', {
      key: alice.secret,
      body: JSON.stringify({ project_id: alice.project.id, name: 'ro', scopes: ['projects:read'] }),
    });
    expect(created.status).toBe(201);
    const readOnly = created.json.secret as string;
    expect((await call('GET', '/v1/projects', { key: readOnly })).status).toBe(200);
    const denied = await call('POST', '/v1/projects', {
      key: readOnly,
      body: '{"name": "x", "region": "us-east"}',
    });
    expectError(denied, 403, 'insufficient_scope');
  });

  it('a key cannot mint a key with scopes it lacks', async () => {
    const narrow = await call('POST', '/v1/keys', {
      key: alice.secret,
      body: JSON.stringify({
        project_id: alice.project.id,
        name: 'keys-only',
        scopes: ['keys:read', 'keys:write'],
      }),
    });
    const res = await call('POST', '/v1/keys', {
      key: narrow.json.secret,
      body: JSON.stringify({ project_id: alice.project.id, name: 'x', scopes: ['projects:write'] }),
    });
    expectError(res, 403, 'insufficient_scope', 'scopes');
  });
});

describe('across gateway processes', () => {
  let second: RunningApp | undefined;
  afterAll(async () => {
    await second?.stop();
  });

  it('a revoked key fails on a second gateway within 1 s', async () => {
    second = await platform.startApp('api-gateway');
    const key = await platform.admin<{ id: string; secret: string }>([
      'create-key',
      '--project',
      alice.project.id,
      '--name',
      'cross-process',
    ]);
    // Warm the second gateway's cache: from now on it answers this key from memory.
    expect((await call('GET', '/v1/projects', { key: key.secret }, second.url)).status).toBe(200);
    expect((await call('GET', '/v1/projects', { key: key.secret }, second.url)).status).toBe(200);

    const revoked = await call('POST', `/v1/keys/${key.id}/revoke`, { key: alice.secret });
    expect(revoked.status).toBe(200);
    const start = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - start < 5_000) {
      status = (await call('GET', '/v1/projects', { key: key.secret }, second.url)).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    expect(Date.now() - start).toBeLessThan(1_000);
  });

  it('a gateway stops cleanly on SIGTERM (exit code 0)', async () => {
    expect(second).toBeDefined();
    expect(await second!.stop()).toBe(0);
    second = undefined;
  });
});

describe('a service that does not answer', () => {
  it('gives 503 upstream_timeout within the deadline, not a hang', async () => {
    // A gateway on a queue prefix no service listens to, with a short deadline.
    const lonely = await platform.startApp('api-gateway', {
      QUEUE_PREFIX: `${platform.env.QUEUE_PREFIX}_lonely`,
      RPC_TIMEOUT_MS: '300',
    });
    try {
      const start = Date.now();
      const res = await call('GET', '/v1/projects', { key: generateApiKey() }, lonely.url);
      expectError(res, 503, 'upstream_timeout');
      expect(Date.now() - start).toBeLessThan(3_000);
      const health = await fetch(`${lonely.url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await lonely.stop();
    }
  });
});
