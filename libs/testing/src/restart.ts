import { RunningApp, startApp } from './processes';

/**
 * Stops `app` and starts the same app again on the same port, so that its URL (and an issuer
 * derived from it) stays the same; resolves once its `/readyz` answers 200.
 */
export async function restartApp(
  app: RunningApp,
  env: Record<string, string>,
  timeoutMs = 45_000,
): Promise<RunningApp> {
  await app.stop();
  return startApp(app.name, env, { port: Number(new URL(app.url).port), timeoutMs });
}
