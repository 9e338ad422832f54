import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, SecureContextOptions } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError } from '@cap/config';

/** What an app serves HTTPS with: Fastify's `https` options, and when the certificate ends. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's `notAfter`. */
  notAfter: Date;
}

/**
 * Reads TLS_CERT_FILE and TLS_KEY_FILE (both set, as `loadConfig` ensures, or neither: then
 * `undefined`, plain HTTP). Throws a `ConfigError` naming the variable when a file cannot be
 * read, is not PEM, or the key is not the certificate's, so the app exits at start with one
 * clear line instead of failing every handshake later. Never puts key material in a message.
 */
export function readTlsFiles(env: {
  TLS_CERT_FILE?: string;
  TLS_KEY_FILE?: string;
}): TlsFiles | undefined {
  if (env.TLS_CERT_FILE === undefined && env.TLS_KEY_FILE === undefined) return undefined;
  if (env.TLS_CERT_FILE === undefined || env.TLS_KEY_FILE === undefined) {
    throw new ConfigError(['TLS_CERT_FILE, TLS_KEY_FILE: set both to serve HTTPS, or neither']);
  }
  const cert = readOrThrow('TLS_CERT_FILE', env.TLS_CERT_FILE);
  const key = readOrThrow('TLS_KEY_FILE', env.TLS_KEY_FILE);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new ConfigError([`TLS_CERT_FILE: ${env.TLS_CERT_FILE} holds no PEM certificate`]);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError([
      `TLS_KEY_FILE: ${env.TLS_KEY_FILE} holds no unencrypted PEM private key`,
    ]);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError([
      `TLS_KEY_FILE: ${env.TLS_KEY_FILE} is not the key of the certificate in ${env.TLS_CERT_FILE}`,
    ]);
  }
  try {
    // What the server will do with them: catches a chain OpenSSL refuses (a bad intermediate).
    createSecureContext({ cert, key });
  } catch (err) {
    const reason = (err as { code?: string }).code ?? 'refused by OpenSSL';
    throw new ConfigError([`TLS_CERT_FILE: ${env.TLS_CERT_FILE} cannot be served (${reason})`]);
  }
  return { cert, key, notAfter: new Date(leaf.validTo) };
}

function readOrThrow(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([`${name}: ${path} cannot be read (${code})`]);
  }
}

/**
 * Re-reads the TLS files every `intervalMs` and gives new connections a changed pair, so a
 * certificate renewed in place (cert-manager, an ACME client) is served without a restart. A
 * pair that does not check out when read (half-written, key and certificate not matching yet)
 * is skipped with a warning, and the one being served stays. Returns the function that stops it.
 */
export function reloadTlsOnChange(
  server: { setSecureContext(options: SecureContextOptions): void },
  env: { TLS_CERT_FILE?: string; TLS_KEY_FILE?: string },
  served: TlsFiles,
  logger: Logger,
  intervalMs = 60_000,
): () => void {
  let current = served;
  let lastProblem: string | undefined;
  const timer = setInterval(() => {
    let next: TlsFiles | undefined;
    try {
      next = readTlsFiles(env);
    } catch (err) {
      const problem = err instanceof ConfigError ? err.issues.join('; ') : String(err);
      // Once per distinct problem, not every interval.
      if (problem !== lastProblem) {
        logger.warn({ problem }, 'TLS files not reloaded: serving the previous certificate');
      }
      lastProblem = problem;
      return;
    }
    lastProblem = undefined;
    if (!next || (next.cert.equals(current.cert) && next.key.equals(current.key))) return;
    server.setSecureContext({ cert: next.cert, key: next.key });
    current = next;
    logger.info({ not_after: next.notAfter.toISOString() }, 'TLS certificate reloaded');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The HSTS field of an app that sends it. */
export function hstsValue(maxAgeS: number): string {
  return `max-age=${maxAgeS}; includeSubDomains`;
}

/**
 * Sends `Strict-Transport-Security` on every answer to a request that arrived over HTTPS: on a
 * TLS socket, or from a trusted proxy (TRUST_PROXY) whose `X-Forwarded-Proto` says `https`.
 * Never on plain HTTP, where a browser would ignore it and an attacker could strip it anyway.
 * Set on the raw response, so hijacked replies (the OAuth endpoints) carry it too.
 */
export function installHsts(fastify: FastifyInstance, maxAgeS: number): void {
  const value = hstsValue(maxAgeS);
  fastify.addHook('onRequest', (req, reply, done) => {
    if (req.protocol === 'https') reply.raw.setHeader('Strict-Transport-Security', value);
    done();
  });
}
