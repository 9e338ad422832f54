import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastify, { FastifyInstance } from 'fastify';
import pino from 'pino';
import { baseEnv, ConfigError, loadConfig } from '@cap/config';
import { fastifyOptions } from './http';
import { ensureLocalCertificate, LocalCertificate } from './local-certificate';
import { installHsts, readTlsFiles, reloadTlsOnChange } from './tls';

let dir: string;
let local: LocalCertificate;
/** A second certificate, whose key is not `local`'s. */
let other: LocalCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cap-tls-spec-'));
  local = await ensureLocalCertificate(join(dir, 'a'));
  other = await ensureLocalCertificate(join(dir, 'b'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The ConfigError's lines thrown by `fn`. */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('TLS_CERT_FILE and TLS_KEY_FILE', () => {
  it('serves plain HTTP with neither, HTTPS with both', () => {
    const neither = loadConfig(baseEnv, {});
    expect(neither.TLS_CERT_FILE).toBeUndefined();
    expect(readTlsFiles(neither)).toBeUndefined();
    // An empty value is unset, as a Compose `${VAR:-}` gives it.
    expect(readTlsFiles(loadConfig(baseEnv, { TLS_CERT_FILE: ' ', TLS_KEY_FILE: '' }))).toBe(
      undefined,
    );
    const both = readTlsFiles(
      loadConfig(baseEnv, { TLS_CERT_FILE: local.certFile, TLS_KEY_FILE: local.keyFile }),
    );
    expect(both?.cert.equals(readFileSync(local.certFile))).toBe(true);
    expect(both?.key.equals(readFileSync(local.keyFile))).toBe(true);
    expect(both!.notAfter.getTime()).toBeGreaterThan(Date.now() + 300 * 86_400_000);
  });

  it('refuses one without the other, naming the missing one', () => {
    expect(issuesOf(() => loadConfig(baseEnv, { TLS_CERT_FILE: local.certFile }))).toEqual([
      expect.stringMatching(/^TLS_KEY_FILE: required with TLS_CERT_FILE/),
    ]);
    expect(issuesOf(() => loadConfig(baseEnv, { TLS_KEY_FILE: local.keyFile }))).toEqual([
      expect.stringMatching(/^TLS_CERT_FILE: required with TLS_KEY_FILE/),
    ]);
    expect(issuesOf(() => readTlsFiles({ TLS_KEY_FILE: local.keyFile }))).toHaveLength(1);
  });

  it('refuses a file that cannot be read, with its path and why', () => {
    const missing = join(dir, 'nope.pem');
    expect(
      issuesOf(() => readTlsFiles({ TLS_CERT_FILE: missing, TLS_KEY_FILE: local.keyFile })),
    ).toEqual([`TLS_CERT_FILE: ${missing} cannot be read (ENOENT)`]);
    expect(
      issuesOf(() => readTlsFiles({ TLS_CERT_FILE: local.certFile, TLS_KEY_FILE: dir })),
    ).toEqual([`TLS_KEY_FILE: ${dir} cannot be read (EISDIR)`]);
  });

  it('refuses a file that is not PEM, and a key that is not the certificate’s', () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    expect(
      issuesOf(() => readTlsFiles({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: local.keyFile })),
    ).toEqual([`TLS_CERT_FILE: ${garbage} holds no PEM certificate`]);
    // Swapped files: the certificate where the key belongs.
    expect(
      issuesOf(() => readTlsFiles({ TLS_CERT_FILE: local.certFile, TLS_KEY_FILE: local.certFile })),
    ).toEqual([`TLS_KEY_FILE: ${local.certFile} holds no unencrypted PEM private key`]);
    const issues = issuesOf(() =>
      readTlsFiles({ TLS_CERT_FILE: local.certFile, TLS_KEY_FILE: other.keyFile }),
    );
    expect(issues).toEqual([
      `TLS_KEY_FILE: ${other.keyFile} is not the key of the certificate in ${local.certFile}`,
    ]);
    // No key material in what is printed.
    const keyBody = readFileSync(other.keyFile, 'utf8').split('\n')[1];
    expect(issues.join('\n')).not.toContain(keyBody);
  });
});

describe('ensureLocalCertificate', () => {
  it('makes a key only its owner can read, for 127.0.0.1, ::1 and localhost', () => {
    expect(statSync(local.keyFile).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(local.certFile));
    expect(cert.subjectAltName?.split(', ').sort()).toEqual([
      'DNS:localhost',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:127.0.0.1',
    ]);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('keeps a usable certificate, and replaces a pair that does not match', async () => {
    const before = readFileSync(local.certFile);
    await ensureLocalCertificate(join(dir, 'a'));
    expect(readFileSync(local.certFile).equals(before)).toBe(true);

    const broken = join(dir, 'broken');
    const pair = await ensureLocalCertificate(broken);
    copyFileSync(other.keyFile, pair.keyFile);
    await ensureLocalCertificate(broken);
    expect(
      readTlsFiles({ TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile }),
    ).toBeDefined();
    expect(readFileSync(pair.keyFile).equals(readFileSync(other.keyFile))).toBe(false);
  });
});

/** An app as `createHttpApp` sets one up, with HSTS, answering `GET /` with `{ok: true}`. */
async function hstsApp(
  options: { tls?: LocalCertificate; trustProxy?: string } = {},
): Promise<FastifyInstance> {
  const { TRUST_PROXY } = baseEnv.parse({ TRUST_PROXY: options.trustProxy ?? 'false' });
  const tls =
    options.tls &&
    readTlsFiles({
      TLS_CERT_FILE: options.tls.certFile,
      TLS_KEY_FILE: options.tls.keyFile,
    });
  const app = fastify({
    ...fastifyOptions(pino({ level: 'silent' }), TRUST_PROXY),
    ...(tls ? { https: { cert: tls.cert, key: tls.key } } : {}),
  });
  installHsts(app, 31_536_000);
  app.get('/', () => ({ ok: true }));
  // A hijacked reply, as the OAuth endpoints answer.
  app.get('/raw', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' }).end('raw');
  });
  return app;
}

/** GET over HTTPS trusting `ca`: status, HSTS field and body. */
function getOverTls(url: string, ca: Buffer) {
  return new Promise<{ status?: number; hsts?: string; body: string }>((done, fail) => {
    httpsGet(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        done({
          status: res.statusCode,
          hsts: res.headers['strict-transport-security'],
          body,
        }),
      );
    }).on('error', fail);
  });
}

describe('HSTS', () => {
  const HSTS = 'max-age=31536000; includeSubDomains';

  it('is sent on every answer over HTTPS, hijacked ones too', async () => {
    const app = await hstsApp({ tls: local });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect(url).toMatch(/^https:/);
      const ca = readFileSync(local.certFile);
      expect(await getOverTls(`${url}/`, ca)).toEqual({
        status: 200,
        hsts: HSTS,
        body: '{"ok":true}',
      });
      expect((await getOverTls(`${url}/raw`, ca)).hsts).toBe(HSTS);
      expect(await getOverTls(`${url}/missing`, ca)).toMatchObject({ status: 404, hsts: HSTS });
    } finally {
      await app.close();
    }
  });

  it('is never sent on plain HTTP, whatever the client says it came over', async () => {
    const app = await hstsApp();
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const headers of [{}, { 'x-forwarded-proto': 'https' }] as Record<string, string>[]) {
        const res = await fetch(`${url}/`, { headers });
        expect([res.status, res.headers.get('strict-transport-security')]).toEqual([200, null]);
      }
    } finally {
      await app.close();
    }
  });

  it('believes X-Forwarded-Proto: https only from a trusted proxy', async () => {
    const app = await hstsApp({ trustProxy: '10.0.0.0/8' });
    const hstsOf = async (remoteAddress: string, proto?: string) =>
      (
        await app.inject({
          url: '/',
          remoteAddress,
          headers: proto ? { 'x-forwarded-proto': proto } : {},
        })
      ).headers['strict-transport-security'];
    expect(await hstsOf('10.0.0.2', 'https')).toBe(HSTS);
    // The proxy's own hop is the last one: a client's earlier "https" changes nothing.
    expect(await hstsOf('10.0.0.2', 'https, http')).toBeUndefined();
    expect(await hstsOf('10.0.0.2', 'http')).toBeUndefined();
    expect(await hstsOf('10.0.0.2')).toBeUndefined();
    expect(await hstsOf('203.0.113.9', 'https')).toBeUndefined();
    await app.close();
  });
});

describe('plain HTTP on a TLS port', () => {
  it('is not served: no HTTP answer, the connection is closed', async () => {
    const app = await hstsApp({ tls: local });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    try {
      const answer = await new Promise<string>((done, fail) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
        );
        let got = '';
        socket.setTimeout(5_000, () => fail(new Error('the connection stayed open')));
        socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
        socket.on('error', () => undefined);
        socket.on('close', () => done(got));
      });
      expect(answer).not.toMatch(/HTTP\/1\.[01] 200/);
      expect(answer).not.toContain('"ok":true');
    } finally {
      await app.close();
    }
  });
});

/** The SHA-256 fingerprint of the certificate `port` serves to a new connection. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((done, fail) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      done(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', fail);
  });
}

const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

describe('a renewed certificate', () => {
  it('is served to new connections without a restart; a broken pair is skipped', async () => {
    const live = await ensureLocalCertificate(join(dir, 'live'));
    const env = { TLS_CERT_FILE: live.certFile, TLS_KEY_FILE: live.keyFile };
    const first = readTlsFiles(env)!;
    const app = await hstsApp({ tls: live });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const warnings: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => warnings.push(line) });
    const stop = reloadTlsOnChange(app.server as never, env, first, logger, 20);
    const settle = () => new Promise((r) => setTimeout(r, 100));
    try {
      const before = fingerprintOf(live.certFile);
      expect(await servedFingerprint(port)).toBe(before);

      // A key that is not the certificate's (renewal half done): the old pair stays.
      copyFileSync(other.keyFile, live.keyFile);
      await settle();
      expect(await servedFingerprint(port)).toBe(before);
      expect(warnings.join('')).toContain('TLS files not reloaded');

      copyFileSync(other.certFile, live.certFile);
      await settle();
      expect(await servedFingerprint(port)).toBe(fingerprintOf(other.certFile));
      expect(warnings.join('')).toContain('TLS certificate reloaded');
    } finally {
      stop();
      await app.close();
    }
  });
});
