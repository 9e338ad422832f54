/**
 * The platform over HTTPS (TLS_CERT_FILE/TLS_KEY_FILE, a certificate made for this file): the
 * seed's calls through the gateway with an API key, the OAuth flow with an https issuer, HSTS on
 * the public apps only, plain HTTP on the TLS ports never served, and bad TLS settings refused at
 * start with one line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalCertificate, LocalCertificate } from '@cap/observability';
import {
  apiRequest,
  fetchTrusting,
  oauthAccessToken,
  startApp,
  Tenant,
  TestPlatform,
} from '@cap/testing';

const HSTS = 'max-age=31536000; includeSubDomains';

let dir: string;
let cert: LocalCertificate;
let platform: TestPlatform;
let tenant: Tenant;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cap-tls-e2e-'));
  cert = await ensureLocalCertificate(join(dir, 'tls'));
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'api-gateway'],
    {},
    {},
    { tls: cert },
  );
  tenant = await platform.tenant('tls');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** What a client that speaks plain HTTP gets from `port`: the bytes before the socket closed. */
function plainHttpAnswer(port: number): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write('GET /v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
    );
    let got = '';
    socket.setTimeout(5_000, () => {
      socket.destroy();
      fail(new Error(`port ${port} kept a plain-HTTP connection open`));
    });
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => done(got));
  });
}

describe('over HTTPS', () => {
  it('serves every app on https', () => {
    for (const name of ['projects-service', 'auth-server', 'api-gateway'] as const) {
      expect(platform.url(name)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(platform.ca).toBeDefined();
  });

  it('answers the seed through the gateway with an API key, with HSTS', async () => {
    const ca = platform.ca!;
    const list = await apiRequest(platform.url(), 'GET', '/v1/projects', {
      token: tenant.secret,
      headers: { Accept: 'application/json' },
      ca,
    });
    expect(list.status).toBe(200);
    expect(list.json.data).toEqual([expect.objectContaining({ id: tenant.project.id })]);
    expect(list.headers.get('strict-transport-security')).toBe(HSTS);
    expect(list.headers.get('request-id')).toMatch(/^req_/);

    const created = await apiRequest(platform.url(), 'POST', '/v1/projects', {
      token: tenant.secret,
      body: { name: 'over-tls', region: 'us-east' },
      ca,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'over-tls', region: 'us-east' });
    // Errors carry it too.
    const denied = await apiRequest(platform.url(), 'GET', '/v1/projects', { ca });
    expect([denied.status, denied.headers.get('strict-transport-security')]).toEqual([401, HSTS]);
  });

  it('publishes OAuth metadata with an https issuer and https endpoints', async () => {
    const issuer = platform.url('auth-server');
    const res = await apiRequest(issuer, 'GET', '/.well-known/oauth-authorization-server', {
      ca: platform.ca,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('strict-transport-security')).toBe(HSTS);
    expect(res.json.issuer).toBe(issuer);
    const endpoints = Object.entries(res.json as Record<string, unknown>).filter(
      ([name, value]) => /(_endpoint|_uri)$/.test(name) && typeof value === 'string',
    );
    expect(endpoints.map(([name]) => name)).toEqual(
      expect.arrayContaining(['authorization_endpoint', 'token_endpoint', 'jwks_uri']),
    );
    for (const [name, value] of endpoints) {
      expect([name, value]).toEqual([name, expect.stringMatching(new RegExp(`^${issuer}/`))]);
    }
  });

  it('runs the authorization-code flow over HTTPS; the gateway accepts the token', async () => {
    const grant = await oauthAccessToken(platform, tenant);
    const [, payload] = grant.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss: string };
    expect(claims.iss).toBe(platform.url('auth-server'));
    // The gateway verified it with the JWKS it fetched over HTTPS from the https issuer.
    const me = await apiRequest(platform.url(), 'GET', '/v1/user', {
      token: grant.access_token,
      ca: platform.ca,
    });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ id: tenant.user.id, email: tenant.email });
  });

  it('sends HSTS from the public apps only', async () => {
    const send = fetchTrusting(platform.ca!);
    const internal = await send(`${platform.url('projects-service')}/readyz`);
    expect([internal.status, internal.headers.get('strict-transport-security')]).toEqual([
      200,
      null,
    ]);
    const gateway = await send(`${platform.url()}/readyz`);
    expect(gateway.headers.get('strict-transport-security')).toBe(HSTS);
  });

  it('does not serve plain HTTP on the TLS ports', async () => {
    for (const name of ['api-gateway', 'auth-server'] as const) {
      const url = platform.url(name);
      const port = Number(new URL(url).port);
      const answer = await plainHttpAnswer(port);
      expect([name, /HTTP\/1\.[01] 200/.test(answer), answer.includes('"data"')]).toEqual([
        name,
        false,
        false,
      ]);
      await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
    }
  });
});

describe('TLS settings at start', () => {
  /** Starts a gateway with `env` over the platform's, expecting it to exit: code and output. */
  async function failedStart(env: Record<string, string>) {
    const app = await startApp('api-gateway', { ...platform.env, ...env }, { waitReady: false });
    const code = await new Promise<number | null>((done) => {
      if (app.process.exitCode !== null) return done(app.process.exitCode);
      app.process.once('exit', (c) => done(c));
    });
    return { code, output: app.output().trim() };
  }

  it('refuses a certificate without its key, in one line', async () => {
    const { code, output } = await failedStart({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: '' });
    expect(code).toBe(1);
    expect(output.split('\n')).toEqual([
      'api-gateway: Invalid environment:',
      expect.stringMatching(/^ {2}TLS_KEY_FILE: required with TLS_CERT_FILE/),
    ]);
  });

  it('refuses an unreadable or invalid file, naming it', async () => {
    const missing = join(dir, 'missing.pem');
    const unreadable = await failedStart({ TLS_CERT_FILE: missing, TLS_KEY_FILE: cert.keyFile });
    expect(unreadable.code).toBe(1);
    expect(unreadable.output).toContain(`TLS_CERT_FILE: ${missing} cannot be read (ENOENT)`);

    const garbage = join(dir, 'garbage.pem');
    await writeFile(
      garbage,
      '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n',
    );
    const invalid = await failedStart({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: cert.keyFile });
    expect(invalid.code).toBe(1);
    expect(invalid.output).toContain(`TLS_CERT_FILE: ${garbage} holds no PEM certificate`);
  });
});
