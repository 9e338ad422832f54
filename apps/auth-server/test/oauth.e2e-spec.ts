/**
 * The OAuth 2.0 authorization server end to end: auth-server and projects-service booted as
 * processes on a fresh database and queue prefix, driven over HTTP as a browser and a client
 * would, with Postgres and Redis real.
 */
import { createPublicKey, JsonWebKey, verify as verifySignature } from 'node:crypto';
import { Redis } from 'ioredis';
import { hashClientSecret } from '@cap/auth';
import {
  CHANNELS,
  IdentityJobs,
  QUEUES,
  REVOKED_TOKEN_KEYS,
  SCOPES,
  TokenRevokedEvent,
} from '@cap/contracts';
import { EventBus, RpcClient } from '@cap/queue';
import {
  adminWithRetry,
  authorizationUrl,
  authorizeInBrowser,
  Browser,
  cleanRedisPrefix,
  clientSecretBasic,
  eventually,
  formAction,
  freePort,
  inputValue,
  OAuthClientCreated,
  pkcePair,
  restartApp,
  RunningApp,
  spawnTs,
  startApp,
  TENANT_PASSWORD,
  TEST_ENV,
  TestPlatform,
  testQueuePrefix,
  tokenRequest as postToken,
} from '@cap/testing';

const REDIRECT = 'https://app.example.com/callback';
const PUBLIC_REDIRECT = 'http://127.0.0.1:8765/callback';
const PASSWORD = TENANT_PASSWORD;
const API_AUDIENCE = 'http://127.0.0.1:8080';

type CreatedClient = OAuthClientCreated;

let platform: TestPlatform;
let authServer: RunningApp;
let AS: string;
let redis: Redis;
let listener: EventBus;
let identity: RpcClient<IdentityJobs>;
const revocations: TokenRevokedEvent[] = [];
const extraApps: RunningApp[] = [];
let user: { id: string; email: string };
let seedClient: CreatedClient;
let publicClient: CreatedClient;

const json = (res: Response): Promise<any> => res.json();

/** The operator CLI, retried once when no reply came (see adminWithRetry). */
const admin = <T>(args: string[], stdin = '') => adminWithRetry<T>(platform, args, stdin);

async function createUser(label: string) {
  const email = `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const created = await admin<{ id: string }>(
    ['create-user', '--email', email, '--name', label],
    `${PASSWORD}\n`,
  );
  return { id: created.id, email };
}

function decodeJwt(token: string): { header: any; payload: any } {
  const [header, payload] = token.split('.');
  const decode = (part: string | undefined) =>
    JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
  return { header: decode(header), payload: decode(payload) };
}

/** Verifies an ES256 JWS against a JWKS with node:crypto (no library of ours involved). */
function verifiesWith(token: string, jwks: { keys: JsonWebKey[] }): boolean {
  const [header, payload, signature] = token.split('.');
  const { kid } = decodeJwt(token).header;
  const jwk = jwks.keys.find((k) => (k as { kid?: string }).kid === kid);
  if (!jwk) return false;
  return verifySignature(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature ?? '', 'base64url'),
  );
}

const jwks = (): Promise<{ keys: JsonWebKey[] }> => fetch(`${AS}/oauth/jwks`).then(json);

const basic = clientSecretBasic;
const tokenRequest = (
  form: Record<string, string>,
  headers: Record<string, string> = {},
  base = AS,
) => postToken(base, form, headers);

/** Runs an authorization request in a fresh (or given) browser; returns the code. */
async function authorize(
  options: {
    client?: CreatedClient;
    redirectUri?: string;
    scope?: string;
    pkce?: { challenge: string };
    as?: { email: string };
    browser?: Browser;
    base?: string;
  } = {},
): Promise<{ code: string; callback: URL; browser: Browser; pages: string[] }> {
  const client = options.client ?? seedClient;
  const redirectUri = options.redirectUri ?? client.redirect_uris[0];
  const browser = options.browser ?? new Browser();
  const state = Math.random().toString(36).slice(2);
  const url = authorizationUrl(options.base ?? AS, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid offline_access projects:read projects:write',
    state,
    code_challenge: options.pkce?.challenge,
    code_challenge_method: options.pkce ? 'S256' : undefined,
  });
  const { callback, pages } = await authorizeInBrowser(browser, url, {
    email: (options.as ?? user).email,
    password: PASSWORD,
    redirectUri,
  });
  expect(callback.searchParams.get('error')).toBeNull();
  expect(callback.searchParams.get('state')).toBe(state);
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  return { code: code!, callback, browser, pages: pages.map((p) => p.html) };
}

/** The documentation's exchange: form-encoded, client_secret_post. */
function exchange(code: string, client = seedClient, extra: Record<string, string> = {}) {
  return tokenRequest({
    grant_type: 'authorization_code',
    code,
    client_id: client.id,
    client_secret: client.client_secret!,
    redirect_uri: client.redirect_uris[0],
    ...extra,
  });
}

async function tokensFor(scope?: string) {
  const { code } = await authorize({ scope });
  const res = await exchange(code);
  expect(res.status).toBe(200);
  return json(res);
}

function refresh(refreshToken: string, client = seedClient) {
  return tokenRequest(
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    { Authorization: basic(client.id, client.client_secret!) },
  );
}

async function introspect(token: string, client = seedClient): Promise<any> {
  const res = await fetch(`${AS}/oauth/introspect`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: basic(client.id, client.client_secret!),
    },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
  return json(res);
}

const revokedKey = {
  grant: (gid: string) => `${platform.env.QUEUE_PREFIX}:${REVOKED_TOKEN_KEYS.grant(gid)}`,
  jti: (jti: string) => `${platform.env.QUEUE_PREFIX}:${REVOKED_TOKEN_KEYS.jti(jti)}`,
};

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server']);
  authServer = platform.apps.get('auth-server')!;
  AS = authServer.url;
  redis = new Redis(TEST_ENV.redisUrl);
  listener = new EventBus(TEST_ENV.redisUrl, platform.env.QUEUE_PREFIX);
  await listener.subscribe(CHANNELS.tokenRevoked, (e) => revocations.push(e as TokenRevokedEvent));
  identity = new RpcClient<IdentityJobs>({
    queue: QUEUES.identity,
    prefix: platform.env.QUEUE_PREFIX,
    redisUrl: TEST_ENV.redisUrl,
    timeoutMs: 5000,
  });
  await identity.ready();
  user = await createUser('oauth');
  seedClient = await admin<CreatedClient>([
    'create-client',
    '--owner',
    user.email,
    '--name',
    'Seed App',
    '--redirect-uri',
    REDIRECT,
  ]);
  publicClient = await admin<CreatedClient>([
    'create-client',
    '--owner',
    user.email,
    '--name',
    'Public App',
    '--redirect-uri',
    PUBLIC_REDIRECT,
    '--public',
  ]);
});

afterAll(async () => {
  await Promise.all(extraApps.map((a) => a.stop()));
  await authServer?.stop();
  await listener?.close();
  await identity?.close();
  redis?.disconnect();
  await platform?.stop();
});

describe('clients from the operator CLI', () => {
  it('a confidential client gets a 43-character secret once; a public one none', () => {
    expect(seedClient).toMatchObject({
      id: expect.stringMatching(/^cli_[0-9A-Za-z]{20}$/),
      type: 'confidential',
      redirect_uris: [REDIRECT],
    });
    expect(seedClient.client_secret).toMatch(/^[0-9A-Za-z]{43}$/);
    expect(publicClient.type).toBe('public');
    expect(publicClient.client_secret).toBeUndefined();
  });

  it('refuses a non-loopback http redirect URI and a fragment', async () => {
    for (const uri of ['http://app.example.com/cb', 'https://app.example.com/cb#x']) {
      await expect(
        platform.admin([
          'create-client',
          '--owner',
          user.email,
          '--name',
          'x',
          '--redirect-uri',
          uri,
        ]),
      ).rejects.toThrow(/invalid_request.*Redirect URI 1 must/);
    }
  });
});

describe('clients over the identity queue', () => {
  const actor = () => ({ user_id: user.id, scopes: [...SCOPES] });

  it('clients.list pages through the clients a user registered, newest first', async () => {
    const owner = await createUser('lister');
    const mine = { user_id: owner.id, scopes: [...SCOPES] };
    const created = [];
    for (const name of ['one', 'two', 'three']) {
      created.push(
        await identity.call('clients.create', {
          v: 1,
          actor: mine,
          name,
          redirect_uris: ['https://list.example.com/cb'],
          type: 'public',
        }),
      );
    }
    const first = await identity.call('clients.list', { v: 1, actor: mine, limit: 2 });
    expect(first.has_more).toBe(true);
    expect(first.data.map((c) => c.name)).toEqual(['three', 'two']);
    expect(first.data[0]).toEqual({
      id: created[2].id,
      name: 'three',
      type: 'public',
      redirect_uris: ['https://list.example.com/cb'],
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
    });
    const rest = await identity.call('clients.list', {
      v: 1,
      actor: mine,
      limit: 2,
      starting_after: first.data[1].id,
    });
    expect(rest).toEqual({ data: [expect.objectContaining({ name: 'one' })], has_more: false });
    // Another user's clients are not listed, nor usable as a cursor.
    const theirs = await identity.call('clients.list', { v: 1, actor: actor(), limit: 100 });
    expect(theirs.data.map((c) => c.id)).not.toContain(created[0].id);
    await expect(
      identity.call('clients.list', {
        v: 1,
        actor: actor(),
        limit: 2,
        starting_after: created[0].id,
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', param: 'starting_after' });
  });

  it('clients.create validates the name, the type and the secret hash', async () => {
    const base = {
      v: 1 as const,
      actor: actor(),
      name: 'ok',
      redirect_uris: ['https://a.example.com/cb'],
    };
    await expect(
      identity.call('clients.create', { ...base, type: 'confidential' }),
    ).rejects.toMatchObject({ code: 'invalid_request', param: 'secret_hash' });
    await expect(
      identity.call('clients.create', { ...base, type: 'public', secret_hash: 'a'.repeat(64) }),
    ).rejects.toMatchObject({ code: 'invalid_request', param: 'secret_hash' });
    await expect(
      identity.call('clients.create', { ...base, name: ' ', type: 'public' }),
    ).rejects.toMatchObject({ code: 'invalid_request', param: 'name' });
    await expect(
      identity.call('clients.create', {
        ...base,
        type: 'public',
        redirect_uris: ['https://*.example.com/cb'],
      }),
    ).rejects.toMatchObject({ code: 'invalid_request', param: 'redirect_uris' });
    await expect(
      identity.call('clients.create', {
        ...base,
        actor: { user_id: 'usr_nobody000000000000', scopes: [] },
        type: 'public',
      }),
    ).rejects.toMatchObject({ code: 'user_not_found' });
  });
});

describe('metadata (RFC 8414) and JWKS', () => {
  it('publishes the endpoints under /oauth, S256 only, and every scope', async () => {
    for (const path of ['oauth-authorization-server', 'openid-configuration']) {
      const res = await fetch(`${AS}/.well-known/${path}`);
      expect(res.status).toBe(200);
      const meta = await json(res);
      expect(meta).toMatchObject({
        issuer: AS,
        authorization_endpoint: `${AS}/oauth/authorize`,
        token_endpoint: `${AS}/oauth/token`,
        revocation_endpoint: `${AS}/oauth/revoke`,
        introspection_endpoint: `${AS}/oauth/introspect`,
        jwks_uri: `${AS}/oauth/jwks`,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
        token_endpoint_auth_methods_supported: [
          'client_secret_basic',
          'client_secret_post',
          'none',
        ],
        id_token_signing_alg_values_supported: ['ES256'],
      });
      expect(meta.grant_types_supported.sort()).toEqual(
        ['authorization_code', 'client_credentials', 'refresh_token'].sort(),
      );
      expect(meta.scopes_supported).toEqual([
        'openid',
        'profile',
        'email',
        'offline_access',
        ...SCOPES,
      ]);
    }
  });

  it('serves a JWKS of public EC keys only', async () => {
    const { keys } = await jwks();
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
  });
});

describe('the documentation’s token exchange, verbatim', () => {
  it('authorize → sign-in → consent → POST /oauth/token form-encoded with client_secret_post', async () => {
    const { code, pages } = await authorize();
    expect(pages.some((html) => html.includes('name="password"'))).toBe(true);
    const consent = pages.find((html) => html.includes('name="decision"'))!;
    expect(consent).toContain('Allow Seed App?');
    expect(consent).toContain('See your projects.');
    expect(consent).toContain('Create, rename and delete your projects.');

    // curl -X POST ".../oauth/token" -H "Content-Type: application/x-www-form-urlencoded"
    //   -d "grant_type=authorization_code" -d "code=<AUTH_CODE>" -d "client_id=<CLIENT_ID>"
    //   -d "client_secret=<CLIENT_SECRET>" -d "redirect_uri=https://app.example.com/callback"
    const res = await fetch(`${AS}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: [
        'grant_type=authorization_code',
        `code=${code}`,
        `client_id=${seedClient.id}`,
        `client_secret=${seedClient.client_secret}`,
        'redirect_uri=https://app.example.com/callback',
      ].join('&'),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await json(res);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'projects:read projects:write',
      access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refresh_token: expect.any(String),
      id_token: expect.any(String),
    });
  });

  it('the access token is an ES256 at+jwt for the API with sub, client_id, scope, gid, jti', async () => {
    const tokens = await tokensFor('openid projects:read usage:read');
    const { header, payload } = decodeJwt(tokens.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toEqual({
      iss: AS,
      aud: API_AUDIENCE,
      sub: user.id,
      client_id: seedClient.id,
      scope: 'projects:read usage:read',
      gid: expect.any(String),
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(payload.exp - payload.iat).toBe(900);
    expect(Math.abs(payload.iat - Date.now() / 1000)).toBeLessThan(60);
    expect(verifiesWith(tokens.access_token, await jwks())).toBe(true);
    // The refresh token is opaque, and the ID token is for the client.
    expect(tokens.refresh_token.split('.')).toHaveLength(1);
    expect(decodeJwt(tokens.id_token).payload).toMatchObject({ sub: user.id, aud: seedClient.id });
  });

  it('a request without scope gets the read-only default; an unknown resource is refused', async () => {
    const browser = new Browser();
    const { callback } = await authorizeInBrowser(
      browser,
      authorizationUrl(AS, {
        response_type: 'code',
        client_id: seedClient.id,
        redirect_uri: REDIRECT,
      }),
      { email: user.email, password: PASSWORD, redirectUri: REDIRECT },
    );
    const tokens = await json(await exchange(callback.searchParams.get('code')!));
    expect(tokens.scope.split(' ').sort()).toEqual(['keys:read', 'projects:read', 'usage:read']);

    const other = await authorizeInBrowser(
      browser,
      authorizationUrl(AS, {
        response_type: 'code',
        client_id: seedClient.id,
        redirect_uri: REDIRECT,
        scope: 'projects:read',
        resource: 'https://other-api.example.com',
      }),
      { email: user.email, password: PASSWORD, redirectUri: REDIRECT },
    );
    expect(other.callback.searchParams.get('error')).toBe('invalid_target');
  });

  it('pushed authorization requests (RFC 9126) work', async () => {
    const pushed = await fetch(`${AS}/oauth/par`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: basic(seedClient.id, seedClient.client_secret!),
      },
      body: new URLSearchParams({
        client_id: seedClient.id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'projects:read',
        state: 'pushed',
      }).toString(),
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri, expires_in: expiresIn } = await json(pushed);
    expect(requestUri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(expiresIn).toBeGreaterThan(0);
    const { callback } = await authorizeInBrowser(
      new Browser(),
      authorizationUrl(AS, { client_id: seedClient.id, request_uri: requestUri }),
      { email: user.email, password: PASSWORD, redirectUri: REDIRECT },
    );
    expect(callback.searchParams.get('state')).toBe('pushed');
    expect((await exchange(callback.searchParams.get('code')!)).status).toBe(200);
  });

  it('client_secret_basic works as well', async () => {
    const { code } = await authorize();
    const res = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { Authorization: basic(seedClient.id, seedClient.client_secret!) },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await json(res)).access_token).toBeTruthy();
  });

  it('remembers the consent: the next authorization (new browser) asks only to sign in', async () => {
    const { pages } = await authorize({ scope: 'openid projects:read' });
    expect(pages.some((html) => html.includes('name="password"'))).toBe(true);
    expect(pages.some((html) => html.includes('name="decision"'))).toBe(false);
  });

  it('denying consent sends the app access_denied', async () => {
    const other = await createUser('denier');
    const browser = new Browser();
    const url = authorizationUrl(AS, {
      response_type: 'code',
      client_id: seedClient.id,
      redirect_uri: REDIRECT,
      scope: 'projects:read',
    });
    const { callback } = await authorizeInBrowser(browser, url, {
      email: other.email,
      password: PASSWORD,
      redirectUri: REDIRECT,
      decision: 'deny',
    });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
  });
});

describe('client authentication', () => {
  async function failsWith401(res: Response) {
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    expect(body.error).toBe('invalid_client');
    expect(typeof body.error_description).toBe('string');
    return res;
  }

  it('a wrong secret is 401 invalid_client (post and basic)', async () => {
    const { code } = await authorize();
    await failsWith401(await exchange(code, { ...seedClient, client_secret: 'wrong' }));
    const res = await failsWith401(
      await tokenRequest(
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
        { Authorization: basic(seedClient.id, `${seedClient.client_secret}x`) },
      ),
    );
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    // The code was not used up by the failed attempts.
    expect((await exchange(code)).status).toBe(200);
  });

  it('a missing secret is 401 invalid_client', async () => {
    const { code } = await authorize();
    await failsWith401(
      await tokenRequest({
        grant_type: 'authorization_code',
        code,
        client_id: seedClient.id,
        redirect_uri: REDIRECT,
      }),
    );
  });

  it('the stored SHA-256 of the secret does not work as the secret', async () => {
    const { code } = await authorize();
    await failsWith401(
      await exchange(code, {
        ...seedClient,
        client_secret: hashClientSecret(seedClient.client_secret!),
      }),
    );
  });

  it('an unknown client is 401 invalid_client', async () => {
    await failsWith401(
      await tokenRequest({
        grant_type: 'client_credentials',
        client_id: 'cli_doesnotexist000000',
        client_secret: 'x',
      }),
    );
  });
});

describe('redirect URIs must match exactly', () => {
  it.each([
    ['a trailing slash', `${REDIRECT}/`],
    ['another case', 'https://app.example.com/Callback'],
    ['an extra query', `${REDIRECT}?next=1`],
    ['another port', 'https://app.example.com:8443/callback'],
    ['another host', 'https://evil.example.com/callback'],
  ])('refuses %s with an error page, never a redirect', async (_label, redirectUri) => {
    const res = await new Browser().request(
      authorizationUrl(AS, {
        response_type: 'code',
        client_id: seedClient.id,
        redirect_uri: redirectUri,
        scope: 'projects:read',
        state: 's',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('redirect_uri');
  });
});

describe('PKCE', () => {
  async function authorizationError(params: Record<string, string | undefined>) {
    const res = await new Browser().request(
      authorizationUrl(AS, {
        response_type: 'code',
        client_id: publicClient.id,
        redirect_uri: PUBLIC_REDIRECT,
        scope: 'projects:read',
        state: 's',
        ...params,
      }),
    );
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.href.startsWith(PUBLIC_REDIRECT)).toBe(true);
    return location.searchParams;
  }

  it('is required of a public client', async () => {
    const params = await authorizationError({});
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain method', async () => {
    const params = await authorizationError({
      code_challenge: 'a'.repeat(43),
      code_challenge_method: 'plain',
    });
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/code_challenge_method/);
  });

  it('refuses a wrong verifier, then accepts the right one (public client, no secret)', async () => {
    const pkce = pkcePair();
    const { code } = await authorize({ client: publicClient, pkce });
    const form = {
      grant_type: 'authorization_code',
      code,
      client_id: publicClient.id,
      redirect_uri: PUBLIC_REDIRECT,
    };
    const wrong = await tokenRequest({ ...form, code_verifier: pkcePair().verifier });
    expect(wrong.status).toBe(400);
    expect(await json(wrong)).toMatchObject({ error: 'invalid_grant' });
    const missing = await tokenRequest(form);
    expect(missing.status).toBe(400);
    expect((await json(missing)).error).toBe('invalid_grant');
    const right = await tokenRequest({ ...form, code_verifier: pkce.verifier });
    expect(right.status).toBe(200);
    const body = await json(right);
    expect(decodeJwt(body.access_token).payload.client_id).toBe(publicClient.id);
    expect(body.refresh_token).toBeTruthy();
  });

  it('works for a confidential client that sends it', async () => {
    const pkce = pkcePair();
    const { code } = await authorize({ pkce });
    expect((await exchange(code, seedClient, { code_verifier: 'x'.repeat(43) })).status).toBe(400);
    expect((await exchange(code, seedClient, { code_verifier: pkce.verifier })).status).toBe(200);
  });
});

describe('authorization codes', () => {
  it('work once: a second use fails and revokes what the first issued', async () => {
    const { code } = await authorize();
    const first = await exchange(code);
    expect(first.status).toBe(200);
    const tokens = await json(first);
    const gid = decodeJwt(tokens.access_token).payload.gid;
    expect((await introspect(tokens.refresh_token)).active).toBe(true);
    expect((await introspect(tokens.access_token)).active).toBe(true);

    const second = await exchange(code);
    expect(second.status).toBe(400);
    expect(await json(second)).toMatchObject({ error: 'invalid_grant' });

    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect(await redis.exists(revokedKey.grant(gid))).toBe(1);
    const ttl = await redis.ttl(revokedKey.grant(gid));
    expect(ttl).toBeGreaterThan(800);
    expect(ttl).toBeLessThanOrEqual(900);
    expect(
      (await eventually(() => revocations.some((e) => e.v === 1 && e.grant_ids.includes(gid)))).ok,
    ).toBe(true);
  });

  it('of one client do not work for another', async () => {
    const { code } = await authorize();
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      client_id: publicClient.id,
      redirect_uri: REDIRECT,
      code_verifier: pkcePair().verifier,
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });
});

describe('refresh tokens', () => {
  it('rotate: each refresh gives a new refresh token and a fresh access token', async () => {
    const tokens = await tokensFor();
    const res = await refresh(tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const next = await json(res);
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    const before = decodeJwt(tokens.access_token).payload;
    const after = decodeJwt(next.access_token).payload;
    expect(after).toMatchObject({ sub: user.id, aud: API_AUDIENCE, gid: before.gid });
    expect(after.jti).not.toBe(before.jti);
    expect(after.scope).toBe(before.scope);
  });

  it('reused, revoke the whole family', async () => {
    const tokens = await tokensFor();
    const gid = decodeJwt(tokens.access_token).payload.gid;
    const rotated = await json(await refresh(tokens.refresh_token));

    const reuse = await refresh(tokens.refresh_token);
    expect(reuse.status).toBe(400);
    expect(await json(reuse)).toMatchObject({ error: 'invalid_grant' });

    // The token the legitimate rotation produced is gone too, and so are the access tokens.
    expect((await refresh(rotated.refresh_token)).status).toBe(400);
    expect(await introspect(rotated.access_token)).toEqual({ active: false });
    expect(await redis.exists(revokedKey.grant(gid))).toBe(1);
    expect((await eventually(() => revocations.some((e) => e.grant_ids.includes(gid)))).ok).toBe(
      true,
    );
  });

  it('two concurrent refreshes with one token: exactly one succeeds', async () => {
    const tokens = await tokensFor();
    const results = await Promise.all([
      refresh(tokens.refresh_token),
      refresh(tokens.refresh_token),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400]);
    const loser = results.find((r) => r.status === 400)!;
    expect((await json(loser)).error).toBe('invalid_grant');
    // The loser presented a used token: a reuse, so the family is revoked.
    const winner = await json(results.find((r) => r.status === 200)!);
    expect((await refresh(winner.refresh_token)).status).toBe(400);
  });

  it('belong to their client', async () => {
    const tokens = await tokensFor();
    const other = await admin<CreatedClient>([
      'create-client',
      '--owner',
      user.email,
      '--name',
      'Other App',
      '--redirect-uri',
      REDIRECT,
    ]);
    const res = await refresh(tokens.refresh_token, other);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });
});

describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
  async function revoke(token: string, client = seedClient) {
    return fetch(`${AS}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: basic(client.id, client.client_secret!),
      },
      body: new URLSearchParams({ token }).toString(),
    });
  }

  it('introspection describes an active access token', async () => {
    const tokens = await tokensFor('projects:read');
    const claims = decodeJwt(tokens.access_token).payload;
    expect(await introspect(tokens.access_token)).toEqual({
      active: true,
      token_type: 'Bearer',
      client_id: seedClient.id,
      sub: user.id,
      scope: 'projects:read',
      exp: claims.exp,
      iat: claims.iat,
      iss: AS,
      aud: API_AUDIENCE,
      jti: claims.jti,
      gid: claims.gid,
    });
    expect(await introspect(tokens.refresh_token)).toMatchObject({
      active: true,
      client_id: seedClient.id,
      sub: user.id,
    });
  });

  it('revoking an access token marks its jti and grant, and tells the gateways', async () => {
    const tokens = await tokensFor();
    const { jti, gid } = decodeJwt(tokens.access_token).payload;
    const res = await revoke(tokens.access_token);
    expect(res.status).toBe(200);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    expect(await redis.exists(revokedKey.jti(jti), revokedKey.grant(gid))).toBe(2);
    expect(await redis.ttl(revokedKey.jti(jti))).toBeLessThanOrEqual(900);
    expect(
      (
        await eventually(() =>
          revocations.some((e) => e.jtis.includes(jti) && e.grant_ids.includes(gid)),
        )
      ).ok,
    ).toBe(true);
  });

  it('revoking a refresh token revokes the grant', async () => {
    const tokens = await tokensFor();
    const { gid } = decodeJwt(tokens.access_token).payload;
    expect((await revoke(tokens.refresh_token)).status).toBe(200);
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await redis.exists(revokedKey.grant(gid))).toBe(1);
  });

  it('another client can neither revoke nor introspect the tokens', async () => {
    const tokens = await tokensFor();
    const other = await admin<CreatedClient>([
      'create-client',
      '--owner',
      user.email,
      '--name',
      'Nosy App',
      '--redirect-uri',
      REDIRECT,
    ]);
    expect(await introspect(tokens.access_token, other)).toEqual({ active: false });
    expect(await introspect(tokens.refresh_token, other)).toEqual({ active: false });
    expect((await revoke(tokens.access_token, other)).status).toBe(200);
    expect((await introspect(tokens.access_token)).active).toBe(true);
  });

  it('an unknown token is simply inactive', async () => {
    expect(await introspect('not-a-token')).toEqual({ active: false });
    expect((await revoke('not-a-token')).status).toBe(200);
  });
});

describe('client credentials', () => {
  it('gives a confidential client an access token for itself, without refresh token', async () => {
    const res = await tokenRequest(
      { grant_type: 'client_credentials', scope: 'projects:read usage:read' },
      { Authorization: basic(seedClient.id, seedClient.client_secret!) },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    expect(body.refresh_token).toBeUndefined();
    const { header, payload } = decodeJwt(body.access_token);
    expect(header.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: seedClient.id,
      client_id: seedClient.id,
      aud: API_AUDIENCE,
      iss: AS,
      scope: 'projects:read usage:read',
    });
    expect(payload.gid).toBeUndefined();
  });

  it('is not offered to a public client', async () => {
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: publicClient.id,
    });
    expect(res.status).toBe(400);
    // oidc-provider's word for it (RFC 6749 would say unauthorized_client).
    expect(await json(res)).toEqual({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });
});

/** The sign-in page an authorization request leads to, and where its form posts. */
async function signInForm(browser: Browser, base = AS) {
  const start = await browser.request(
    authorizationUrl(base, {
      response_type: 'code',
      client_id: seedClient.id,
      redirect_uri: REDIRECT,
      scope: 'projects:read',
    }),
  );
  const page = await browser.page(new URL(start.headers.get('location')!, base).toString());
  return { page, action: new URL(formAction(page.html, '/login')!, base).toString() };
}

describe('sign-in', () => {
  it('a wrong password re-shows the form with an error (401)', async () => {
    const browser = new Browser();
    const { page, action } = await signInForm(browser);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/<label for="email">Email<\/label>/);
    expect(page.html).toMatch(/<label for="password">Password<\/label>/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const res = await browser.page(action, {
      form: {
        csrf_token: inputValue(page.html, 'csrf_token')!,
        email: user.email,
        password: 'nope',
      },
    });
    expect(res.status).toBe(401);
    expect(res.html).toContain('Wrong email or password.');
  });

  it('refuses a form without its CSRF token (403)', async () => {
    const browser = new Browser();
    const { action } = await signInForm(browser);
    const missing = await browser.page(action, { form: { email: user.email, password: PASSWORD } });
    expect(missing.status).toBe(403);
    expect(missing.html).toContain('This form has expired');
    const forged = await browser.page(action, {
      form: { csrf_token: 'forged', email: user.email, password: PASSWORD },
    });
    expect(forged.status).toBe(403);
  });

  it('is throttled per account: after 5 failures even the right password gets 429', async () => {
    const locked = await createUser('locked');
    const browser = new Browser();
    const { page, action } = await signInForm(browser);
    const csrf = inputValue(page.html, 'csrf_token')!;
    const attempt = (password: string) =>
      browser.page(action, { form: { csrf_token: csrf, email: locked.email, password } });
    for (let i = 0; i < 5; i++) expect((await attempt(`wrong-${i}`)).status).toBe(401);
    const blocked = await attempt(PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(blocked.html).toContain('Too many failed sign-ins');
    // Another account from the same address is not affected.
    expect((await authorize()).code).toBeTruthy();
  });
});

describe('sign-up', () => {
  it('creates a user who can then sign in and authorize an app', async () => {
    const browser = new Browser();
    const form = await browser.page(`${AS}/signup`);
    expect(form.status).toBe(200);
    expect(form.html).toMatch(/<label for="email">Email<\/label>/);
    const csrf = inputValue(form.html, 'csrf_token')!;
    const email = `signup-${Date.now()}@example.com`;
    const created = await browser.page(`${AS}/signup`, {
      form: { csrf_token: csrf, email, name: 'New Person', password: PASSWORD },
    });
    expect(created.status).toBe(200);
    expect(created.html).toContain('Check your inbox');

    // The same answer for an address that has an account (security-email-verification).
    const again = await browser.page(`${AS}/signup`, {
      form: { csrf_token: csrf, email, name: 'Twice', password: PASSWORD },
    });
    expect(again.status).toBe(200);
    expect(again.html).toBe(created.html);

    const short = await browser.page(`${AS}/signup`, {
      form: { csrf_token: csrf, email: `short-${email}`, password: 'short' },
    });
    expect(short.status).toBe(400);
    expect(short.html).toContain('10 to 1024 characters');

    const { code } = await authorize({ as: { email } });
    const tokens = await json(await exchange(code));
    const { payload } = decodeJwt(tokens.access_token);
    expect(payload.sub).toMatch(/^usr_/);
    expect(payload.sub).not.toBe(user.id);
  });

  it('refuses a sign-up without its CSRF token (403)', async () => {
    const res = await new Browser().page(`${AS}/signup`, {
      form: { email: `csrf-${Date.now()}@example.com`, password: PASSWORD },
    });
    expect(res.status).toBe(403);
  });
});

describe('sign-out', () => {
  it('ends the browser session; API access of apps stays', async () => {
    const { browser } = await authorize();
    const tokens = await tokensFor();
    const goodbye = await browser.request(`${AS}/signout`);
    expect(goodbye.status).toBe(303);
    const confirm = await browser.page(new URL(goodbye.headers.get('location')!, AS).toString());
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Sign out?');
    const form = /<form[^>]*id="op.logoutForm"[^>]*>[\s\S]*?<\/form>/.exec(confirm.html)![0];
    const action = /action="([^"]+)"/.exec(form)![1];
    const fields: Record<string, string> = { logout: 'yes' };
    for (const [, name, value] of form.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) {
      fields[name] = value!;
    }
    const done = await browser.request(new URL(action, AS).toString(), { form: fields });
    expect(done.status).toBe(303);
    // Signed out: the next authorization asks for the password again.
    const next = await browser.request(
      authorizationUrl(AS, {
        response_type: 'code',
        client_id: seedClient.id,
        redirect_uri: REDIRECT,
        scope: 'projects:read',
      }),
    );
    const page = await browser.page(new URL(next.headers.get('location')!, AS).toString());
    expect(page.html).toContain('name="password"');
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });
});

describe('a second auth-server with short code lifetime and a low per-address limit', () => {
  let tuned: RunningApp;
  const tunedPrefix = testQueuePrefix();

  beforeAll(async () => {
    const port = await freePort();
    tuned = await startApp(
      'auth-server',
      {
        ...platform.env,
        ISSUER: `http://127.0.0.1:${port}`,
        QUEUE_PREFIX: tunedPrefix,
        AUTH_CODE_TTL_S: '2',
        SIGNIN_MAX_FAILURES_PER_IP: '3',
      },
      { port },
    );
    extraApps.push(tuned);
  });

  afterAll(async () => {
    await tuned?.stop();
    await cleanRedisPrefix(tunedPrefix);
  });

  it('codes work within their lifetime and not after it (AUTH_CODE_TTL_S)', async () => {
    const fresh = await authorize({ base: tuned.url });
    expect((await tokenRequest(codeForm(fresh.code), {}, tuned.url)).status).toBe(200);

    const stale = await authorize({ base: tuned.url });
    await new Promise((r) => setTimeout(r, 3000));
    const res = await tokenRequest(codeForm(stale.code), {}, tuned.url);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });

  it('throttles per address: after 3 failures from here any account gets 429', async () => {
    const browser = new Browser();
    const { page, action } = await signInForm(browser, tuned.url);
    const csrf = inputValue(page.html, 'csrf_token')!;
    for (let i = 0; i < 3; i++) {
      const res = await browser.page(action, {
        form: { csrf_token: csrf, email: `nobody-${i}@example.com`, password: 'wrong password' },
      });
      expect(res.status).toBe(401);
    }
    const blocked = await browser.page(action, {
      form: { csrf_token: csrf, email: user.email, password: PASSWORD },
    });
    expect(blocked.status).toBe(429);
  });

  function codeForm(code: string) {
    return {
      grant_type: 'authorization_code',
      code,
      client_id: seedClient.id,
      client_secret: seedClient.client_secret!,
      redirect_uri: REDIRECT,
    };
  }
});

describe('interoperability with openid-client 6', () => {
  it('discovery → PKCE authorization → code exchange → refresh → revoke → inactive', async () => {
    const interop = await admin<CreatedClient>([
      'create-client',
      '--owner',
      user.email,
      '--name',
      'Interop App',
      '--redirect-uri',
      'https://interop.example.com/cb',
    ]);
    const child = spawnTs('apps/auth-server/test/support/openid-client-flow.ts', [], platform.env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', done));
    child.stdin?.end(
      JSON.stringify({
        issuer: AS,
        client_id: interop.id,
        client_secret: interop.client_secret,
        redirect_uri: 'https://interop.example.com/cb',
        email: user.email,
        password: PASSWORD,
      }),
    );
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const run = JSON.parse(stdout);

    expect(run.server_metadata.issuer).toBe(AS);
    const authorization = new URL(run.authorization_url);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(new URL(run.callback).searchParams.get('iss')).toBe(AS);

    expect(run.tokens).toMatchObject({
      token_type: 'bearer',
      expires_in: 900,
      scope: 'projects:read usage:read',
    });
    expect(run.tokens.id_token_claims).toMatchObject({
      iss: AS,
      sub: user.id,
      aud: interop.id,
      email: user.email,
    });
    expect(decodeJwt(run.tokens.access_token).payload).toMatchObject({
      sub: user.id,
      client_id: interop.id,
      aud: API_AUDIENCE,
    });
    expect(run.introspection_before).toMatchObject({ active: true, client_id: interop.id });
    expect(run.refreshed.refresh_token).not.toBe(run.tokens.refresh_token);
    expect(run.introspection_after).toEqual({
      refresh_token: { active: false },
      access_token: { active: false },
      first_refresh_token: { active: false },
    });
    expect(run.refresh_after_revocation).toBe('invalid_grant');
    const { gid } = decodeJwt(run.refreshed.access_token).payload;
    expect(await redis.exists(revokedKey.grant(gid))).toBe(1);
  });
});

describe('signing-key rotation', () => {
  it('new tokens use the new key; tokens signed before still verify with the JWKS', async () => {
    const before = await tokensFor();
    const oldKid = decodeJwt(before.access_token).header.kid;

    const child = spawnTs(
      'apps/auth-server/src/signing-keys/rotate-signing-key.command.ts',
      [],
      platform.env,
    );
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await new Promise((done) => child.on('exit', done))).toBe(0);
    const rotated = JSON.parse(stdout) as { kid: string; retired: string[] };
    expect(rotated.retired).toEqual([oldKid]);
    expect(rotated.kid).not.toBe(oldKid);

    // Every replica reloads on the rotation event: the JWKS lists both keys, the new one first.
    expect(
      (
        await eventually(async () => {
          const kids = (await jwks()).keys.map((k) => (k as { kid?: string }).kid);
          return kids[0] === rotated.kid && kids.includes(oldKid);
        })
      ).ok,
    ).toBe(true);

    const after = await json(await refresh(before.refresh_token));
    expect(decodeJwt(after.access_token).header.kid).toBe(rotated.kid);
    const set = await jwks();
    expect(verifiesWith(before.access_token, set)).toBe(true);
    expect(verifiesWith(after.access_token, set)).toBe(true);
    expect(verifiesWith(`${before.access_token.slice(0, -4)}AAAA`, set)).toBe(false);
    // Introspection still knows the token signed by the retired key.
    expect((await introspect(after.access_token)).active).toBe(true);
  });
});

describe('restarts', () => {
  it('state survives an auth-server restart: the refresh token still works', async () => {
    const tokens = await tokensFor();
    const kid = decodeJwt(tokens.access_token).header.kid;
    authServer = await restartApp(authServer, platform.env);
    expect(authServer.url).toBe(AS);
    const res = await refresh(tokens.refresh_token);
    expect(res.status).toBe(200);
    const next = await json(res);
    expect(decodeJwt(next.access_token).header.kid).toBe(kid);
    expect(decodeJwt(next.access_token).payload.iss).toBe(AS);
  });
});
