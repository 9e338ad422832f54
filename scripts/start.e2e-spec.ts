/**
 * `npm start` as a user runs it: embedded database, four apps, ready, usable, and stopped
 * cleanly by Ctrl-C. Runs on free ports and its own data folder and queue prefix.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import {
  cleanRedisPrefix,
  eventually,
  fetchTrusting,
  freePortRange,
  REPO_ROOT,
  runAdmin,
  spawnTs,
  testQueuePrefix,
} from '@cap/testing';

/**
 * A user (`<name>@example.com`), a project in us-east and a key for it, made with the operator
 * CLI against the running `npm start` (queue prefix `prefix`), as a user of the quick start would.
 */
async function tenantThroughCli(prefix: string, name: string, projectName: string) {
  const cli = { QUEUE_PREFIX: prefix };
  const email = `${name}@example.com`;
  expect((await runAdmin(['create-user', '--email', email], cli, 'a long password\n')).code).toBe(
    0,
  );
  const project = JSON.parse(
    (
      await runAdmin(
        ['create-project', '--owner', email, '--name', projectName, '--region', 'us-east'],
        cli,
      )
    ).stdout,
  ) as { id: string };
  const key = JSON.parse(
    (await runAdmin(['create-key', '--project', project.id, '--name', 'k'], cli)).stdout,
  ) as { secret: string };
  return { project, key };
}

/** `npm start` in a process group of its own, so that the whole group can be killed at once. */
function startGroup(env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    ['-r', '@swc-node/register', resolve(REPO_ROOT, 'scripts/start.ts')],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    let seen = '';
    const timer = setTimeout(
      () => fail(new Error(`no ${pattern} in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      const match = seen.split('\n').find((l) => pattern.test(l));
      if (match) {
        clearTimeout(timer);
        done(match);
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before ${pattern}:\n${seen}`));
    });
  });
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | string | null> {
  return new Promise((done, fail) => {
    if (child.exitCode !== null) return done(child.exitCode);
    const timer = setTimeout(() => fail(new Error('did not exit in time')), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      done(code ?? signal);
    });
  });
}

describe('npm start', () => {
  let dataDir: string;
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cap-start-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await cleanRedisPrefix(prefix);
  });

  it('brings up all five apps on the embedded database, serves the seed, stops on Ctrl-C', async () => {
    const base = await freePortRange(5);
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      PORT_BASE: String(base),
      QUEUE_PREFIX: prefix,
      DATABASE_URL: '',
    };
    const started = Date.now();
    const child = spawnTs('scripts/start.ts', [], env);
    try {
      // Waits past the 60 s promise, so that the promise is what the assertion below checks.
      const line = await waitForLine(child, /\[start\] ready in/, 90_000);
      const seconds = (Date.now() - started) / 1000;
      expect(seconds).toBeLessThan(60);
      process.stderr.write(`npm start: ${line.trim()} (measured ${seconds.toFixed(1)} s)\n`);
      for (const port of [base, base + 1, base + 2, base + 3, base + 4]) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(res.status).toBe(200);
      }

      const { key } = await tenantThroughCli(prefix, 'start', 'edge-ingest');
      const res = await fetch(`http://127.0.0.1:${base}/v1/projects`, {
        headers: { Authorization: `Bearer ${key.secret}`, Accept: 'application/json' },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exitOf(child, 20_000)).toBe(0);
    // Every app is gone with it.
    for (const port of [base, base + 1, base + 2, base + 3]) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  }, 150_000);

  it('survives kill -9 of its whole process group: starts again, data intact, no manual step', async () => {
    const base = await freePortRange(5);
    const env: Record<string, string> = {
      DATA_DIR: join(dataDir, 'crash'),
      PORT_BASE: String(base),
      QUEUE_PREFIX: prefix,
      DATABASE_URL: '',
    };
    const first = startGroup(env);
    let again: ChildProcess | undefined;
    try {
      await waitForLine(first, /\[start\] ready in/, 90_000);
      const { project, key } = await tenantThroughCli(prefix, 'crash', 'kept');

      killGroup(first, 'SIGKILL');
      expect(await exitOf(first, 20_000)).toBe('SIGKILL');
      // Every app of the group is gone (they die with it, not after a grace period).
      const down = async (port: number) =>
        fetch(`http://127.0.0.1:${port}/healthz`).then(
          () => false,
          () => true,
        );
      const gone = await eventually(async () => {
        const all = await Promise.all([base, base + 1, base + 2, base + 3].map(down));
        return all.every(Boolean);
      }, 10_000);
      expect(gone.ok).toBe(true);

      again = startGroup(env);
      await waitForLine(again, /\[start\] ready in/, 90_000);
      const res = await fetch(`http://127.0.0.1:${base}/v1/projects`, {
        headers: { Authorization: `Bearer ${key.secret}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: Array<{ id: string }> }).data).toEqual([
        expect.objectContaining({ id: project.id, name: 'kept' }),
      ]);

      // A second start on the same data folder while this one runs: one clear line, exit 1.
      const second = spawnTs('scripts/start.ts', [], env);
      let stderr = '';
      second.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await exitOf(second, 20_000)).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/npm start is already running \(pid \d+\)/),
      ]);
      // ... and the first one still serves.
      expect((await fetch(`http://127.0.0.1:${base}/readyz`)).status).toBe(200);

      killGroup(again, 'SIGINT');
      expect(await exitOf(again, 20_000)).toBe(0);
    } finally {
      killGroup(first, 'SIGKILL');
      if (again) killGroup(again, 'SIGKILL');
    }
  }, 240_000);

  it('with --tls serves the gateway, auth-server and console over HTTPS with a local certificate', async () => {
    const base = await freePortRange(5);
    const data = join(dataDir, 'tls');
    const env: Record<string, string> = {
      DATA_DIR: data,
      PORT_BASE: String(base),
      QUEUE_PREFIX: prefix,
      DATABASE_URL: '',
      // Set in the shell, it changes nothing without --tls, and --tls uses its own certificate.
      TLS_CERT_FILE: '/nonexistent/cert.pem',
      TLS_KEY_FILE: '/nonexistent/key.pem',
    };
    const child = spawnTs('scripts/start.ts', ['--tls'], env);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const line = await waitForLine(child, /\[start\] ready in/, 90_000);
      expect(line).toContain(`API https://127.0.0.1:${base}/v1`);
      expect(line).toContain(`OAuth https://127.0.0.1:${base + 1}`);
      expect(line).toContain(`console https://127.0.0.1:${base + 4}`);
      const keyFile = join(data, 'tls', 'key.pem');
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const ca = await readFile(join(data, 'tls', 'cert.pem'));
      const send = fetchTrusting(ca);

      for (const port of [base, base + 1, base + 4]) {
        const res = await send(`https://127.0.0.1:${port}/readyz`);
        expect([port, res.status, res.headers.get('strict-transport-security')]).toEqual([
          port,
          200,
          'max-age=31536000; includeSubDomains',
        ]);
        // Plain HTTP there is not served.
        await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
      }
      // The internal apps stay on plain HTTP.
      // (Polled: once, right after start, projects-service answered a passing 503 here.)
      for (const port of [base + 2, base + 3]) {
        const up = await eventually(
          async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
          5_000,
          100,
        );
        expect([port, up.ok]).toEqual([port, true]);
      }
      const metadata = await send(
        `https://127.0.0.1:${base + 1}/.well-known/oauth-authorization-server`,
      );
      const issuer = `https://127.0.0.1:${base + 1}`;
      expect(await metadata.json()).toMatchObject({
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        jwks_uri: `${issuer}/oauth/jwks`,
      });

      const { key } = await tenantThroughCli(prefix, 'tls', 'tls');
      const res = await send(`https://127.0.0.1:${base}/v1/projects`, {
        headers: { Authorization: `Bearer ${key.secret}` },
      });
      expect(res.status).toBe(200);
      // The console's sign-in starts at the https issuer, back to its https callback.
      const signIn = await send(`https://127.0.0.1:${base + 4}/auth/start`);
      const location = new URL(signIn.headers.get('location') ?? 'x:');
      expect(`${location.origin}${location.pathname}`).toBe(`${issuer}/oauth/authorize`);
      expect(location.searchParams.get('redirect_uri')).toBe(
        `https://127.0.0.1:${base + 4}/auth/callback`,
      );
      // It reached the auth-server over HTTPS at start (trusting the certificate): it could tell
      // that this port's redirect URI is not registered (only 8084's are), not "did not answer".
      expect(output).toContain(`is not a registered redirect URI of cli_console at ${issuer}`);
      expect(output).not.toContain('the auth-server did not answer');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exitOf(child, 20_000)).toBe(0);
  }, 150_000);

  it('says in one line how to get Redis when nothing answers, and exits 1', async () => {
    const child = spawnTs('scripts/start.ts', [], {
      DATA_DIR: dataDir,
      REDIS_URL: 'redis://127.0.0.1:1',
      DATABASE_URL: '',
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exitOf(child, 20_000)).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Redis does not answer at redis:\/\/127\.0\.0\.1:1.*redis-server/);
  });
});
