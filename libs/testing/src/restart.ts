import { AppName, RunningApp, spawnTs } from './processes';

/**
 * Stops `app` and starts the same app again on the same port (so its URL, and an issuer derived
 * from it, stay the same), waiting until `/readyz` answers 200.
 */
export async function restartApp(
  app: RunningApp,
  env: Record<string, string>,
  timeoutMs = 45_000,
): Promise<RunningApp> {
  await app.stop();
  return startAppOnPort(app.name, env, Number(new URL(app.url).port), timeoutMs);
}

/** Boots one app as its own process on `port`; resolves once its `/readyz` answers 200. */
export async function startAppOnPort(
  name: AppName,
  env: Record<string, string>,
  port: number,
  timeoutMs = 45_000,
): Promise<RunningApp> {
  const child = spawnTs(`apps/${name}/src/main.ts`, [], { ...env, PORT: String(port) });
  let out = '';
  const collect = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  const app: RunningApp = {
    name,
    url,
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
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    }
    const ready = await fetch(`${url}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return app;
    await new Promise((r) => setTimeout(r, 100));
  }
  await app.stop(0);
  throw new Error(`${name} not ready on port ${port} after ${timeoutMs} ms:\n${out}`);
}
