/**
 * `npm start`: the whole platform on one machine. Checks Redis, starts the embedded database
 * unless DATABASE_URL is set, applies migrations, then runs the five apps (the console too) as
 * child processes and reports when every one is ready. Ctrl-C stops them all cleanly.
 *
 * `npm start -- --tls`: the gateway, auth-server and console serve HTTPS with a self-signed
 * certificate for 127.0.0.1 and localhost, made once under `<DATA_DIR>/tls/`; the issuer and
 * every URL are https, and every app trusts that certificate (NODE_EXTRA_CA_CERTS).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { loadConfig } from '@cap/config';
import { EmbeddedDb, migrate, startEmbeddedDb } from '@cap/db';
import { ensureLocalCertificate, LocalCertificate } from '@cap/observability';

const USAGE = 'usage: npm start [-- --tls]';
const args = (() => {
  try {
    return parseArgs({ options: { tls: { type: 'boolean', default: false } }, strict: true })
      .values;
  } catch (err) {
    process.stderr.write(`[start] ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
})();

const env = loadConfig(
  z.object({
    DATABASE_URL: z.string().optional(),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    DATA_DIR: z.string().default('.data'),
    /** The gateway's port; auth-server, projects-service and usage-worker take the next three. */
    PORT_BASE: z.coerce.number().int().min(1).max(65532).default(8080),
    ISSUER: z.url().optional(),
    API_AUDIENCE: z.string().min(1).optional(),
    REQUEST_ID_SECRET: z.string().optional(),
    /** CAs the user's Node already trusts: kept, beside the local certificate, with `--tls`. */
    NODE_EXTRA_CA_CERTS: z.string().optional(),
  }),
);

const ROOT = resolve(__dirname, '..');
/** `public`: reached by browsers and clients, so over HTTPS with `--tls`. */
const APPS = [
  { name: 'projects-service', port: env.PORT_BASE + 2, public: false },
  { name: 'auth-server', port: env.PORT_BASE + 1, public: true },
  { name: 'usage-worker', port: env.PORT_BASE + 3, public: false },
  { name: 'api-gateway', port: env.PORT_BASE, public: true },
  // The migration registers the console's OAuth client for port 8084 (PORT_BASE 8080).
  { name: 'console', port: env.PORT_BASE + 4, public: true },
] as const;
type App = (typeof APPS)[number];

const say = (line: string) => process.stderr.write(`[start] ${line}\n`);

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** The status of `GET <url>`, trusting `ca` for https (this process has no NODE_EXTRA_CA_CERTS). */
function statusOf(url: string, ca?: Buffer): Promise<number | undefined> {
  return new Promise((done) => {
    const onResponse = (res: { statusCode?: number; resume(): void }) => {
      res.resume();
      done(res.statusCode);
    };
    const req = url.startsWith('https:')
      ? httpsGet(url, { ca, timeout: 2_000 }, onResponse)
      : httpGet(url, { timeout: 2_000 }, onResponse);
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

async function waitReady(url: string, deadline: number, ca?: Buffer): Promise<void> {
  while (Date.now() < deadline) {
    // undefined: not listening yet
    if ((await statusOf(`${url}/readyz`, ca)) === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} was not ready in time`);
}

/** Whether `pid` is a running `npm start` (not merely a process that reused the number). */
function isStartRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('scripts/start');
  } catch {
    // No /proc here: the process exists, so assume it is one.
    return true;
  }
}

/**
 * One `npm start` per data folder: `start.pid` there names the running one. A file left by one
 * that was killed (`kill -9`, a crash) names no running start and is replaced. Returns a
 * function that releases the folder, or exits with one line when another start holds it.
 */
function claimDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, 'start.pid');
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (
      Number.isInteger(holder) &&
      holder > 0 &&
      holder !== process.pid &&
      isStartRunning(holder)
    ) {
      say(
        `npm start is already running (pid ${holder}) with the data folder ${dir}: stop it ` +
          'first (Ctrl-C in its terminal), or set DATA_DIR to run another.',
      );
      process.exit(1);
    }
    rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const release = claimDataDir(resolve(ROOT, env.DATA_DIR));
  process.once('exit', release);
  if (!(await redisAnswers(env.REDIS_URL))) {
    say(
      `Redis does not answer at ${env.REDIS_URL}: start one (apt-get install redis-server && ` +
        'redis-server --daemonize yes) or set REDIS_URL.',
    );
    process.exit(1);
  }
  let embedded: EmbeddedDb | undefined;
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    embedded = await startEmbeddedDb(resolve(ROOT, env.DATA_DIR));
    databaseUrl = embedded.url;
    say(`embedded Postgres (PGlite) serving ${resolve(ROOT, env.DATA_DIR)}`);
  }
  const migrations = await migrate(databaseUrl);
  say(`migrations: ${migrations.applied.length} applied, ${migrations.skipped.length} up to date`);

  let tls: LocalCertificate | undefined;
  if (args.tls) {
    tls = await ensureLocalCertificate(resolve(ROOT, env.DATA_DIR, 'tls'));
    say(`HTTPS with the self-signed certificate ${tls.certFile} (trust it in your client)`);
  }
  const ca = tls && readFileSync(tls.certFile);
  // NODE_EXTRA_CA_CERTS names one file: the user's own CAs and the local certificate together.
  let trusted = tls?.certFile;
  if (tls && ca && env.NODE_EXTRA_CA_CERTS) {
    trusted = resolve(ROOT, env.DATA_DIR, 'tls', 'trusted.pem');
    writeFileSync(trusted, Buffer.concat([readFileSync(env.NODE_EXTRA_CA_CERTS), ca]));
  }
  const scheme = tls ? 'https' : 'http';
  const urlOf = (app: App) => `${app.public ? scheme : 'http'}://127.0.0.1:${app.port}`;
  const issuer = env.ISSUER ?? `${scheme}://127.0.0.1:${env.PORT_BASE + 1}`;
  const audience = env.API_AUDIENCE ?? `${scheme}://127.0.0.1:${env.PORT_BASE}`;

  // Shared by the gateways of this run, so request ids verify wherever they are presented.
  const requestIdSecret = env.REQUEST_ID_SECRET ?? randomBytes(32).toString('base64url');
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await embedded?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (const app of APPS) {
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', resolve(ROOT, 'apps', app.name, 'src/main.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          // HTTPS is what --tls says, not what the shell happens to hold.
          TLS_CERT_FILE: undefined,
          TLS_KEY_FILE: undefined,
          DATABASE_URL: databaseUrl,
          PORT: String(app.port),
          // The auth-server's issuer and the API audience follow the ports actually used.
          ISSUER: issuer,
          OAUTH_ISSUER: issuer,
          API_AUDIENCE: audience,
          OAUTH_AUDIENCE: audience,
          REQUEST_ID_SECRET: requestIdSecret,
          // The console: a client of the gateway's /v1 like any app.
          API_URL: `${scheme}://127.0.0.1:${env.PORT_BASE}`,
          ...(tls
            ? {
                // Only the public apps serve HTTPS; every app trusts the certificate (the
                // console calling the gateway and auth-server, the gateway fetching the JWKS).
                ...(app.public ? { TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile } : {}),
                NODE_EXTRA_CA_CERTS: trusted,
              }
            : {}),
          // The embedded database serves one session: keep each app's pool small there.
          ...(embedded ? { DB_POOL_MAX: '2' } : {}),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    child.on('exit', (code, signal) => {
      if (stopping) return;
      say(`${app.name} exited (${signal ?? code}); stopping the platform`);
      void stop(1);
    });
    children.push(child);
  }
  const deadline = Date.now() + 60_000;
  await Promise.all(APPS.map((app) => waitReady(urlOf(app), deadline, ca)));
  say(
    `ready in ${((Date.now() - started) / 1000).toFixed(1)} s — API ` +
      `${scheme}://127.0.0.1:${env.PORT_BASE}/v1, OAuth ${issuer}, ` +
      `console ${scheme}://127.0.0.1:${env.PORT_BASE + 4}. ` +
      'Ctrl-C stops everything.',
  );
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
