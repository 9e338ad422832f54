import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const FIXTURE = resolve(__dirname, '../test/log-burst.fixture.ts');
const LINES = 20_000;

/** Runs the fixture and returns the log lines it wrote to standard output, parsed. */
function burst(
  end: 'exit' | 'throw' | 'signal' | 'running',
  lines = LINES,
): Promise<{ lines: unknown[]; code: number | string }> {
  return new Promise((done, fail) => {
    const mode = end === 'running' ? 'signal' : end;
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', FIXTURE, String(lines), mode],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      if (end === 'signal' && d.toString().includes('ready')) child.kill('SIGTERM');
    });
    if (end === 'running') {
      // Fewer bytes than the buffer holds: they must still come out while the process runs.
      child.stdout.on('data', () => {
        if (out.split('\n').filter(Boolean).length === lines) child.kill('SIGKILL');
      });
      // Never waits for ever: the test then fails on the count.
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }
    child.on('error', fail);
    child.on('exit', (code, signal) =>
      done({
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown),
        code: code ?? signal ?? -1,
      }),
    );
  });
}

describe('the buffered log output', () => {
  it.each(['exit', 'signal', 'throw'] as const)(
    'loses no line when the process ends by %s',
    async (end) => {
      const { lines, code } = await burst(end);
      expect(code).toBe(end === 'throw' ? 1 : 0);
      expect(lines).toHaveLength(LINES);
      expect(lines.at(-1)).toMatchObject({
        app: 'burst',
        level: 'info',
        msg: 'line',
        i: LINES - 1,
      });
    },
    30_000,
  );

  it('writes lines out while the process runs, however few', async () => {
    const { lines, code } = await burst('running', 3);
    // Killed only once all three lines had arrived.
    expect(code).toBe('SIGKILL');
    expect(lines).toHaveLength(3);
  }, 30_000);
});
