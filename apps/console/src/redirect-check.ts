import type { Logger } from 'pino';
import { ConsoleConfig, publicUrlOf } from './config';
import { pkcePair } from './oauth.client';
import { randomToken } from './session.store';

export type RedirectCheckResult =
  'registered' | 'not_registered' | 'unknown_client' | 'unreachable';

/**
 * Asks the auth-server whether `redirectUri` is registered for `clientId`, through the public
 * protocol only: an authorization request with `prompt=none`. A registered URI is redirected to
 * (with `login_required`, nothing is created at the auth-server); an unregistered one is answered
 * with an error page there, never redirected (RFC 6749 §4.1.2.1).
 */
export async function probeRedirectUri(
  issuer: string,
  clientId: string,
  redirectUri: string,
): Promise<RedirectCheckResult> {
  const url = new URL('/oauth/authorize', issuer);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid',
    state: randomToken(),
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    prompt: 'none',
  }).toString();
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
  } catch {
    return 'unreachable';
  }
  if (res.status >= 300 && res.status < 400) return 'registered';
  const body = await res.text().catch(() => '');
  if (/invalid_client/i.test(body)) return 'unknown_client';
  if (/redirect_uri/i.test(body)) return 'not_registered';
  return res.status >= 500 ? 'unreachable' : 'not_registered';
}

/** The one line an operator needs: what is wrong and the command that fixes it. */
export function redirectFixLine(config: ConsoleConfig, result: RedirectCheckResult): string {
  const redirectUri = `${publicUrlOf(config)}/auth/callback`;
  const what =
    result === 'unknown_client'
      ? `the auth-server at ${config.ISSUER} knows no client ${config.CONSOLE_CLIENT_ID}`
      : `${redirectUri} is not a registered redirect URI of ${config.CONSOLE_CLIENT_ID} at ${config.ISSUER}`;
  return (
    `console: ${what}; sign-in would fail. Register this console and restart it with the id ` +
    `printed: npm run admin -- create-client --public --first-party --owner <operator email> ` +
    `--name "Developer console" --redirect-uri ${redirectUri}, then CONSOLE_CLIENT_ID=<its id>`
  );
}

/**
 * The start-up check of CONSOLE_REDIRECT_CHECK. Waits for an auth-server that is still starting
 * (npm start boots them together) up to `waitMs`; if it never answers the check is skipped with
 * a warning, since the console itself can serve. Resolves `false` when the console must not
 * start.
 */
export async function checkRedirectAtStart(
  config: ConsoleConfig,
  logger: Logger,
  waitMs = 30_000,
): Promise<boolean> {
  const mode =
    config.CONSOLE_REDIRECT_CHECK ?? (config.NODE_ENV === 'production' ? 'fail' : 'warn');
  if (mode === 'off') return true;
  const redirectUri = `${publicUrlOf(config)}/auth/callback`;
  const deadline = Date.now() + waitMs;
  let result = await probeRedirectUri(config.ISSUER, config.CONSOLE_CLIENT_ID, redirectUri);
  while (result === 'unreachable' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    result = await probeRedirectUri(config.ISSUER, config.CONSOLE_CLIENT_ID, redirectUri);
  }
  if (result === 'registered') return true;
  if (result === 'unreachable') {
    logger.warn(
      { issuer: config.ISSUER },
      'console: the auth-server did not answer; the redirect URI was not checked',
    );
    return true;
  }
  const line = redirectFixLine(config, result);
  if (mode === 'fail') {
    // As a bad environment is reported: one plain line on standard error, then exit 1.
    process.stderr.write(`${line}\n`);
    return false;
  }
  logger.warn(line);
  return true;
}
