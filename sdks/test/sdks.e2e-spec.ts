/**
 * Both SDKs against the real platform, booted once for this file by TestPlatform.
 * JS: every resource, the seed's examples, pagination, a typed 404, a real 429 whose retry waits
 * for Retry-After, POSTs whose first response is lost (retried to one project, one key secret),
 * and OAuth. Python: its unittest suite (`sdks/python/tests`) run against the same platform,
 * then the package installed into a scratch virtual environment running the seed examples.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  adminWithRetry,
  authorizeInBrowser,
  Browser,
  TENANT_PASSWORD,
  Tenant,
  TestPlatform,
} from '@cap/testing';
import {
  ApiError,
  AuthenticationError,
  CloudApi,
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  OAuth,
  OAuthError,
  RateLimitError,
  RetryEvent,
} from '../js/src/index';
import { openApiDocument } from '../js/scripts/openapi-document';
import { FaultyServer } from '../js/test/faulty-server';

const PYTHON_ROOT = resolve(__dirname, '../python');
let platform: TestPlatform;
let tenant: Tenant;
let api: CloudApi;
/** Users with no project: to add as members (JS twice, Python once). */
let users: { added: string; member: string; python: string };
/** A user with a key of theirs, whom the Python suite invites and who accepts. */
let pyInvitee: Tenant;
const servers: FaultyServer[] = [];

async function createUser(label: string): Promise<string> {
  const email = `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  await adminWithRetry(
    platform,
    ['create-user', '--email', email, '--name', label],
    `${TENANT_PASSWORD}\n`,
  );
  return email;
}

beforeAll(async () => {
  // A 2 s window, so that a key's 429 asks for a Retry-After of a second or two.
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { RATE_LIMIT_WINDOW_MS: '2000' },
  );
  const [t, added, member, python, pythonInvitee] = await Promise.all([
    platform.tenant('sdk'),
    createUser('sdk-added'),
    createUser('sdk-member'),
    createUser('sdk-python'),
    platform.tenant('sdk-py-invitee'),
  ]);
  tenant = t;
  users = { added, member, python };
  pyInvitee = pythonInvitee;
  api = new CloudApi({ apiKey: tenant.secret, baseUrl: platform.url() });
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await platform?.stop();
});

async function faulty(plan: Parameters<typeof FaultyServer.start>[0]): Promise<FaultyServer> {
  const server = await FaultyServer.start(plan, platform.url());
  servers.push(server);
  return server;
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('the seed with the JS SDK', () => {
  it('POST /v1/projects: create a project with a name and region', async () => {
    const project = await api.projects.create({ name: 'edge-ingest', region: 'us-east' });
    expect(project).toEqual({
      id: expect.stringMatching(/^prj_/),
      name: 'edge-ingest',
      region: 'us-east',
      created_at: expect.stringMatching(TIME),
    });
    expect(api.lastResponse).toMatchObject({
      status: 201,
      requestId: expect.stringMatching(/^req_/),
    });
    expect(await api.projects.retrieve(project.id)).toEqual(project);
  });

  it('GET /v1/projects: the page, and every item through pages of one (limit: 1)', async () => {
    await api.projects.create({ name: 'analytics', region: 'eu-central' });
    const page = await api.projects.list({ limit: 1 });
    expect(page.data).toHaveLength(1);
    expect(page.has_more).toBe(true);
    const names: string[] = [];
    for await (const p of api.projects.list({ limit: 1 })) names.push(p.name);
    // Newest first: the two created above, then the tenant's own.
    expect(names.slice(0, 2)).toEqual(['analytics', 'edge-ingest']);
    expect(names).toContain('sdk-project');
    expect(names.length).toBeGreaterThanOrEqual(3);
  });

  it('POST /v1/keys: issue a key, call with it, list it redacted, rotate and revoke it', async () => {
    const key = await api.keys.create({ project_id: tenant.project.id, name: 'ci' });
    expect(key.secret).toMatch(/^sk_live_/);
    const withKey = new CloudApi({ apiKey: key.secret, baseUrl: platform.url() });
    expect((await withKey.projects.list()).data.map((p) => p.id)).toContain(tenant.project.id);

    const listed = await api.keys.list({ project_id: tenant.project.id, limit: 1 }).toArray();
    const mine = listed.find((k) => k.id === key.id)!;
    expect(mine.redacted).toBe(`sk_live_…${key.secret.slice(-4)}`);
    expect(mine).not.toHaveProperty('secret');

    const rotated = await api.keys.rotate(key.id, { grace_period_seconds: 0 });
    expect(rotated.secret).not.toBe(key.secret);
    const revoked = await api.keys.revoke(key.id);
    expect(revoked.revoked_at).toEqual(expect.any(String));
    // A revoked key is refused within a second; allow the cache a few tries.
    const after = new CloudApi({ apiKey: rotated.secret, baseUrl: platform.url(), maxRetries: 0 });
    let refused: unknown;
    for (let i = 0; i < 20 && !refused; i++) {
      refused = await after.user.retrieve().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused).toBeInstanceOf(AuthenticationError);
  });

  it('GET /v1/usage: usage of the project over a time range', async () => {
    const end = new Date(Date.now() + 60_000).toISOString();
    const start = new Date(Date.now() - 3_600_000).toISOString();
    const usage = await api.usage.retrieve({
      project_id: tenant.project.id,
      start,
      end,
      granularity: 'hour',
    });
    expect(usage).toMatchObject({ project_id: tenant.project.id, granularity: 'hour' });
    expect(usage.total_requests).toEqual(expect.any(Number));
    expect(Array.isArray(usage.data)).toBe(true);
  });
});

describe('errors', () => {
  it('a typed 404 with its code, message and request id', async () => {
    const error = await api.projects.retrieve('prj_00000000000000000000').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 404,
      code: 'project_not_found',
      requestId: expect.stringMatching(/^req_/),
    });
    expect((error as ApiError).message).toContain('prj_00000000000000000000');
  });

  it('a 400 names the param at fault; a bad key is a 401 AuthenticationError', async () => {
    await expect(api.projects.create({ name: '', region: 'us-east' })).rejects.toMatchObject({
      constructor: InvalidRequestError,
      code: 'invalid_request',
      param: 'name',
    });
    const bad = new CloudApi({ apiKey: 'sk_live_nope', baseUrl: platform.url() });
    await expect(bad.projects.list()).rejects.toMatchObject({
      constructor: AuthenticationError,
      status: 401,
    });
  });
});

describe('every other resource', () => {
  it('user, regions, members, support tickets, OAuth clients, the OpenAPI document', async () => {
    const user = await api.user.retrieve();
    expect(user.email).toBe(tenant.email);
    const regions = await api.regions.list();
    expect(regions.data.map((r) => r.id)).toEqual(
      expect.arrayContaining(['us-east', 'eu-central']),
    );

    const added = await api.members.add(tenant.project.id, { email: users.added, role: 'viewer' });
    expect(added).toMatchObject({ email: users.added, role: 'viewer' });
    await platform.addMember(tenant.project.id, tenant.secret, users.member, 'viewer');
    const members = await api.members.list(tenant.project.id, { limit: 1 }).toArray();
    const member = members.find((m) => m.email === users.member)!;
    expect(member.role).toBe('viewer');
    const promoted = await api.members.update(tenant.project.id, member.user_id, {
      role: 'developer',
    });
    expect(promoted).toEqual({ ...member, role: 'developer' });
    // The tenant is the project's last owner: it cannot step down.
    await expect(
      api.members.update(tenant.project.id, tenant.user.id, { role: 'admin' }),
    ).rejects.toMatchObject({ constructor: ConflictError, code: 'conflict', param: 'role' });
    await expect(api.members.remove(tenant.project.id, member.user_id)).resolves.toMatchObject({
      deleted: true,
    });

    const requestId = api.lastResponse!.requestId!;
    const ticket = await api.supportTickets.create({
      subject: 'A 404 I did not expect',
      body: 'See the request.',
      request_ids: [requestId],
    });
    expect(ticket).toMatchObject({ status: 'open', request_ids: [requestId] });
    expect(await api.supportTickets.retrieve(ticket.id)).toEqual(ticket);
    expect((await api.supportTickets.list()).data.map((t) => t.id)).toContain(ticket.id);

    const client = await api.oauthClients.create({
      name: 'SDK app',
      redirect_uris: ['https://app.example.com/callback'],
    });
    expect(client.client_secret).toEqual(expect.any(String));
    expect((await api.oauthClients.list()).data.map((c) => c.id)).toContain(client.id);

    const document = await new CloudApi({ baseUrl: platform.url() }).openapi.retrieve();
    expect(document.openapi).toBe('3.1.0');

    const project = await api.projects.create({ name: 'to-rename', region: 'us-east' });
    expect(await api.projects.update(project.id, { name: 'renamed' })).toMatchObject({
      name: 'renamed',
    });
    expect(await api.projects.del(project.id)).toEqual({ id: project.id, deleted: true });
  });
});

describe('invitations', () => {
  it('members.add invites (201, an Invitation); the project lists and revokes; the invitee accepts', async () => {
    const invitee = await platform.tenant('sdk-invitee');
    const invitation = await api.members.add(tenant.project.id, {
      email: invitee.email,
      role: 'developer',
    });
    expect(api.lastResponse?.status).toBe(201);
    expect(invitation).toMatchObject({
      id: expect.any(String),
      project_id: tenant.project.id,
      email: invitee.email,
      role: 'developer',
      status: 'pending',
      created_at: expect.stringMatching(TIME),
      expires_at: expect.stringMatching(TIME),
    });
    const stranger = `sdk-nobody-${Date.now()}@example.com`;
    const toRevoke = await api.members.add(tenant.project.id, { email: stranger, role: 'viewer' });
    const pending = await api.invitations.listForProject(tenant.project.id, { limit: 1 }).toArray();
    expect(pending.map((i) => i.id)).toEqual(expect.arrayContaining([invitation.id, toRevoke.id]));

    expect(await api.invitations.revoke(tenant.project.id, toRevoke.id)).toMatchObject({
      id: toRevoke.id,
      status: 'revoked',
    });
    const after = await api.invitations.listForProject(tenant.project.id).toArray();
    expect(after.map((i) => i.id)).not.toContain(toRevoke.id);

    // The invitee, with a key of theirs (not confined to their own project), sees and accepts.
    const asInvitee = new CloudApi({ apiKey: invitee.secret, baseUrl: platform.url() });
    const mine = await asInvitee.invitations.list().toArray();
    expect(mine.map((i) => i.id)).toEqual([invitation.id]);
    expect(await asInvitee.invitations.accept(invitation.id)).toMatchObject({
      id: invitation.id,
      status: 'accepted',
    });
    const members = await api.members.list(tenant.project.id).toArray();
    expect(members.find((m) => m.email === invitee.email)?.role).toBe('developer');
    expect((await asInvitee.projects.list()).data.map((p) => p.id)).toContain(tenant.project.id);
  });
});

describe('the contract', () => {
  it('the gateway serves the document the SDKs are generated from', async () => {
    // contract-drift.spec.ts checks the SDKs against the in-process build; this, that build
    // against what the booted gateway really serves.
    const served = (await api.openapi.retrieve()) as { paths: unknown; components: unknown };
    const built = openApiDocument();
    expect(served.paths).toEqual(built.paths);
    expect(served.components).toEqual(built.components);
  });
});

describe('rate limits', () => {
  it('reads the limit state; a 429 is a RateLimitError; the retry waits for Retry-After', async () => {
    const key = await api.keys.create({
      project_id: tenant.project.id,
      name: 'slow',
      rate_limit: 2,
    });
    const once = new CloudApi({ apiKey: key.secret, baseUrl: platform.url(), maxRetries: 0 });
    let limited: RateLimitError | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      await once.regions.list().catch((e: unknown) => {
        if (!(e instanceof RateLimitError)) throw e;
        limited = e;
      });
    }
    expect(limited).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(limited!.retryAfter).toBeGreaterThanOrEqual(1);
    expect(limited!.rateLimit).toMatchObject({ limit: 2, remaining: 0 });
    expect(once.rateLimit!.reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));

    // Still limited now: the retrying client waits as long as the 429 asks, then succeeds.
    const retries: RetryEvent[] = [];
    const patient = new CloudApi({
      apiKey: key.secret,
      baseUrl: platform.url(),
      onRetry: (e) => retries.push(e),
    });
    const started = Date.now();
    let result: unknown;
    for (let i = 0; i < 5 && retries.length === 0; i++) result = await patient.regions.list();
    expect(result).toMatchObject({ data: expect.any(Array) });
    expect(retries.length).toBeGreaterThanOrEqual(1);
    const waited = retries[0];
    expect(waited.error).toBeInstanceOf(RateLimitError);
    expect(waited.delayMs).toBe(waited.error.retryAfter! * 1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(waited.delayMs);
    expect(patient.rateLimit).toMatchObject({ limit: 2, remaining: expect.any(Number) });
  });
});

describe('retries against the real platform through a faulty server', () => {
  it('a dropped connection, then the real answer', async () => {
    const server = await faulty((n) => (n === 1 ? 'drop' : 'proxy'));
    const through = new CloudApi({ apiKey: tenant.secret, baseUrl: server.url() });
    expect((await through.user.retrieve()).email).toBe(tenant.email);
    expect(server.seen).toHaveLength(2);
  });

  it('503 twice, then the real answer', async () => {
    const server = await faulty((n) =>
      n <= 2
        ? {
            status: 503,
            body: { error: { code: 'service_unavailable', message: 'x', request_id: 'req_x' } },
          }
        : 'proxy',
    );
    const through = new CloudApi({ apiKey: tenant.secret, baseUrl: server.url() });
    expect((await through.regions.list()).data.length).toBeGreaterThan(0);
    expect(server.seen).toHaveLength(3);
  });

  it('a POST whose response is lost is retried to exactly one project', async () => {
    const server = await faulty((n) => (n === 1 ? 'complete-then-cut' : 'proxy'));
    const through = new CloudApi({ apiKey: tenant.secret, baseUrl: server.url() });
    const name = `lost-response-${Date.now()}`;
    const project = await through.projects.create({ name, region: 'us-east' });
    expect(project.name).toBe(name);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0].headers['idempotency-key']).toBe(
      server.seen[1].headers['idempotency-key'],
    );
    expect(through.lastResponse).toMatchObject({ replayed: true, attempts: 2 });
    const all = await api.projects.list({ limit: 100 }).toArray();
    expect(all.filter((p) => p.name === name).map((p) => p.id)).toEqual([project.id]);
  });

  it('a key creation whose response is lost: one key, and its secret returned', async () => {
    const server = await faulty((n) => (n === 1 ? 'complete-then-cut' : 'proxy'));
    const through = new CloudApi({ apiKey: tenant.secret, baseUrl: server.url() });
    const name = `lost-key-${Date.now()}`;
    const key = await through.keys.create({ project_id: tenant.project.id, name });
    expect(key.secret).toMatch(/^sk_live_/);
    const keys = await api.keys.list({ project_id: tenant.project.id, limit: 100 }).toArray();
    expect(keys.filter((k) => k.name === name).map((k) => k.id)).toEqual([key.id]);
    const withIt = new CloudApi({ apiKey: key.secret, baseUrl: platform.url() });
    expect((await withIt.user.retrieve()).email).toBe(tenant.email);
  });
});

describe('OAuth with the JS SDK', () => {
  it('authorization URL with PKCE and state, code exchange, API call, refresh, revoke', async () => {
    const client = await api.oauthClients.create({
      name: 'SDK OAuth app',
      redirect_uris: ['https://app.example.com/callback'],
    });
    const oauth = new OAuth({
      issuer: platform.url('auth-server'),
      clientId: client.id,
      clientSecret: client.client_secret,
      redirectUri: 'https://app.example.com/callback',
    });
    const { url, state, codeVerifier } = await oauth.authorizationUrl({
      scope: ['openid', 'projects:read'],
    });
    expect(new URL(url).searchParams.get('code_challenge_method')).toBe('S256');
    const { callback } = await authorizeInBrowser(new Browser(), url, {
      email: tenant.email,
      password: TENANT_PASSWORD,
      redirectUri: 'https://app.example.com/callback',
    });
    expect(() => oauth.codeFromCallback(callback.toString(), 'another state')).toThrow(OAuthError);
    const code = oauth.codeFromCallback(callback.toString(), state);
    const tokens = await oauth.exchangeCode({ code, codeVerifier });
    expect(tokens).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });

    const asUser = new CloudApi({ accessToken: tokens.access_token, baseUrl: platform.url() });
    expect((await asUser.user.retrieve()).email).toBe(tenant.email);
    expect((await asUser.projects.list()).data.map((p) => p.id)).toContain(tenant.project.id);

    const refreshed = await oauth.refresh(tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    await oauth.revoke(refreshed.refresh_token!, 'refresh_token');
    await expect(oauth.refresh(refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...options.env },
        timeout: 120_000,
        maxBuffer: 10 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        done({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          output: `${stdout}${stderr}`,
        }),
    );
  });
}

function expectSuccess(result: { code: number; output: string }, what: string): void {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.output}`);
}

describe('the Python SDK', () => {
  it('python3 -m unittest: its whole suite against the platform, nothing skipped', async () => {
    // An authorization granted in the browser for a URL the Python SDK built (PKCE, state);
    // the suite exchanges the code, calls the API with the token, refreshes and revokes.
    const redirectUri = 'https://app.example.com/callback';
    const client = await api.oauthClients.create({
      name: 'Py OAuth app',
      redirect_uris: [redirectUri],
    });
    const issuer = platform.url('auth-server');
    const built = await run(
      'python3',
      [
        '-c',
        [
          'import json, sys',
          'from cloud_api import OAuth',
          'o = OAuth(sys.argv[1], sys.argv[2], sys.argv[3])',
          'r = o.authorization_url(["openid", "projects:read"])',
          'print(json.dumps(r._asdict()))',
        ].join('\n'),
        issuer,
        client.id,
        redirectUri,
      ],
      { cwd: PYTHON_ROOT },
    );
    expectSuccess(built, 'building the authorization URL');
    const request = JSON.parse(built.output) as {
      url: string;
      state: string;
      code_verifier: string;
    };
    const { callback } = await authorizeInBrowser(new Browser(), request.url, {
      email: tenant.email,
      password: TENANT_PASSWORD,
      redirectUri,
    });

    const result = await run(
      'python3',
      ['-m', 'unittest', 'discover', '-v', '-s', 'tests', '-t', '.'],
      {
        cwd: PYTHON_ROOT,
        env: {
          CLOUD_API_BASE_URL: platform.url(),
          CLOUD_API_KEY: tenant.secret,
          CLOUD_API_PROJECT_ID: tenant.project.id,
          CLOUD_API_EMAIL: tenant.email,
          CLOUD_API_MEMBER_EMAIL: users.python,
          CLOUD_API_INVITEE_EMAIL: pyInvitee.email,
          CLOUD_API_INVITEE_KEY: pyInvitee.secret,
          CLOUD_API_OAUTH_ISSUER: issuer,
          CLOUD_API_OAUTH_CLIENT_ID: client.id,
          CLOUD_API_OAUTH_CLIENT_SECRET: client.client_secret ?? '',
          CLOUD_API_OAUTH_REDIRECT_URI: redirectUri,
          CLOUD_API_OAUTH_CALLBACK: callback.toString(),
          CLOUD_API_OAUTH_STATE: request.state,
          CLOUD_API_OAUTH_VERIFIER: request.code_verifier,
        },
      },
    );
    expectSuccess(result, 'python3 -m unittest');
    expect(result.output).toMatch(/Ran \d+ tests/);
    expect(result.output).toMatch(/\nOK\n/);
    if (/skipped/.test(result.output)) throw new Error(`tests were skipped:\n${result.output}`);
  }, 150_000);

  it('pip installs ./sdks/python into a scratch venv, whose Python runs the seed examples', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloud-api-venv-'));
    try {
      const venv = join(dir, 'venv');
      // No pip inside (ensurepip is slow): the machine's pip installs into the venv.
      expectSuccess(await run('python3', ['-m', 'venv', '--without-pip', venv]), 'venv');
      const python = join(venv, 'bin', 'python');
      expectSuccess(
        await run('python3', [
          '-m',
          'pip',
          '--python',
          python,
          'install',
          '--no-build-isolation',
          '--no-index',
          '--no-deps',
          PYTHON_ROOT,
        ]),
        'pip install ./sdks/python',
      );
      const example = await run(python, [join(PYTHON_ROOT, 'examples', 'seed.py')], {
        cwd: dir,
        env: { CLOUD_API_KEY: tenant.secret, CLOUD_API_BASE_URL: platform.url() },
      });
      expectSuccess(example, 'examples/seed.py');
      expect(example.output).toMatch(/created prj_/);
      expect(example.output).toMatch(/error 404 project_not_found req_/);
      const where = await run(python, ['-c', 'import cloud_api; print(cloud_api.__file__)'], {
        cwd: dir,
      });
      expect(where.output).toContain(venv);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
