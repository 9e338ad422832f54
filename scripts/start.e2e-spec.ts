/**
 * `npm start` as a user runs it: embedded database, four apps, ready, usable, and stopped
 * cleanly by Ctrl-C. Runs on free ports and its own data folder and queue prefix.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcess } from 'node:child_process';
import { freePort, runAdmin, spawnTs, testQueuePrefix, cleanRedisPrefix } from '@cap/testing';

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

  it('brings up all four apps on the embedded database, serves the seed, stops on Ctrl-C', async () => {
    const base = await freePort();
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
      for (const port of [base, base + 1, base + 2, base + 3]) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(res.status).toBe(200);
      }

      const cli = { QUEUE_PREFIX: prefix };
      expect(
        (await runAdmin(['create-user', '--email', 'start@example.com'], cli, 'a long password\n'))
          .code,
      ).toBe(0);
      const project = JSON.parse(
        (
          await runAdmin(
            [
              'create-project',
              '--owner',
              'start@example.com',
              '--name',
              'edge-ingest',
              '--region',
              'us-east',
            ],
            cli,
          )
        ).stdout,
      );
      const key = JSON.parse(
        (await runAdmin(['create-key', '--project', project.id, '--name', 'k'], cli)).stdout,
      );
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
