import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fetchTrusting } from './api';

export const REPO_ROOT = resolve(__dirname, '../../..');

export type AppName =
  'api-gateway' | 'auth-server' | 'projects-service' | 'usage-worker' | 'console';

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

const canListen = (port: number) =>
  new Promise<boolean>((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });

/**
 * `count` consecutive ports nothing listens on (for `npm start`'s PORT_BASE … +4). Taken below
 * the kernel's ephemeral range (32768+), where `freePort()` and outgoing connections draw theirs,
 * so that another test's port cannot land inside the block between this check and the listen.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let free = true;
    for (let i = 0; i < count && free; i++) free = await canListen(base + i);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** A TypeScript entry point run the way `npm start` runs it. */
export function spawnTs(
  entry: string,
  args: string[],
  env: Record<string, string>,
  stdio: 'pipe' | 'ignore' = 'pipe',
): ChildProcess {
  return spawn(process.execPath, ['-r', '@swc-node/register', resolve(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', stdio, stdio],
  });
}

/**
 * Compiled apps (`npm run build -- --out-dir <dir>`) run instead of their TypeScript, as the
 * images run them: `node <nodeArgs> <dir>/apps/<app>/main.js`, in the folder holding `dir`
 * (there, as in an image, `node_modules` must be found next to it).
 */
export interface BuiltApps {
  /** The build's output folder, holding `apps/<target>/`. */
  dir: string;
  /** Node options placed before the entry (a `--require` of a check, say). */
  nodeArgs?: string[];
}

/** `<dir>/apps/<target>/<entry>` of a build run with node alone (no TypeScript compiler). */
export function spawnBuilt(
  built: BuiltApps,
  entry: string,
  args: string[],
  env: Record<string, string>,
  stdio: 'pipe' | 'ignore' = 'pipe',
): ChildProcess {
  const file = resolve(built.dir, 'apps', entry);
  return spawn(process.execPath, [...(built.nodeArgs ?? []), file, ...args], {
    cwd: dirname(resolve(built.dir)),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', stdio, stdio],
  });
}

export interface RunningApp {
  name: AppName;
  /** `https://…` when the app was given TLS_CERT_FILE and TLS_KEY_FILE. */
  url: string;
  /** The certificate it serves, when over HTTPS: what clients of it must trust. */
  ca?: Buffer;
  process: ChildProcess;
  /** What the process wrote, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string | null>;
}

async function waitReady(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
  ca?: Buffer,
) {
  const deadline = Date.now() + timeoutMs;
  const get = ca ? fetchTrusting(ca) : fetch;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await get(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${output()}`);
}

/** The file's bytes, or undefined when it cannot be read (a test of a bad TLS_CERT_FILE). */
function readIfAny(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Boots one app as its own process and waits until its `/readyz` answers 200 (over HTTPS, trusting
 * its certificate, when `env` has TLS_CERT_FILE and TLS_KEY_FILE).
 */
export async function startApp(
  name: AppName,
  env: Record<string, string>,
  options: { waitReady?: boolean; timeoutMs?: number; port?: number; built?: BuiltApps } = {},
): Promise<RunningApp> {
  const port = options.port ?? (await freePort());
  const appEnv = { ...env, PORT: String(port) };
  const child = options.built
    ? spawnBuilt(options.built, `${name}/main.js`, [], appEnv)
    : spawnTs(`apps/${name}/src/main.ts`, [], appEnv);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const https = Boolean(env.TLS_CERT_FILE && env.TLS_KEY_FILE);
  const ca = https ? readIfAny(env.TLS_CERT_FILE) : undefined;
  const url = `${https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const app: RunningApp = {
    name,
    url,
    ca,
    process: child,
    output: () => out,
    stop: (graceMs = 10_000) =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          return done(child.exitCode ?? child.signalCode);
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', (code, signal) => {
          clearTimeout(kill);
          done(code ?? signal);
        });
        child.kill('SIGTERM');
      }),
  };
  if (options.waitReady ?? true) {
    try {
      await waitReady(url, child, app.output, options.timeoutMs ?? 45_000, ca);
    } catch (err) {
      await app.stop(0);
      throw new Error(`${name} did not start: ${(err as Error).message}`);
    }
  }
  return app;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the operator CLI as a user would, with `stdin` piped in (built: its compiled form). */
export function runAdmin(
  args: string[],
  env: Record<string, string>,
  stdin = '',
  built?: BuiltApps,
): Promise<CliResult> {
  return collect(
    built
      ? spawnBuilt(built, 'admin-cli/main.js', args, env)
      : spawnTs('apps/admin-cli/src/main.ts', args, env),
    stdin,
  );
}

/** Runs the built migration tool (`<dir>/apps/migrate/scripts/migrate.js`) on `databaseUrl`. */
export function runBuiltMigrate(built: BuiltApps, databaseUrl: string): Promise<CliResult> {
  return collect(
    spawnBuilt(built, 'migrate/scripts/migrate.js', [], { DATABASE_URL: databaseUrl }),
  );
}

function collect(child: ChildProcess, stdin = ''): Promise<CliResult> {
  return new Promise((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}
