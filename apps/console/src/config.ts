import { z } from 'zod';
import { baseEnv, port, publicHttpEnv } from '@cap/config';

export const consoleEnv = baseEnv.extend({
  PORT: port(8084),
  ...publicHttpEnv,
  /** The auth-server (OAuth issuer) as the browser and this server reach it. */
  ISSUER: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8081'),
  /** The public API's base, without `/v1`. */
  API_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  /** This console as browsers reach it; the OAuth redirect URI is `<PUBLIC_URL>/auth/callback`. */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The console's public OAuth client (the migration registers `cli_console` for port 8084). */
  CONSOLE_CLIENT_ID: z
    .string()
    .regex(/^cli_[0-9A-Za-z_]{1,64}$/)
    .default('cli_console'),
  /** How long a console session lives without use (its refresh token may end it sooner). */
  CONSOLE_SESSION_TTL_S: z.coerce.number().int().min(60).max(2_592_000).default(43_200),
  /** How long a console session lives at most, however busy: then the user signs in again. */
  CONSOLE_SESSION_MAX_AGE_S: z.coerce.number().int().min(60).max(7_776_000).default(604_800),
  /**
   * At start, whether `<PUBLIC_URL>/auth/callback` must be registered for CONSOLE_CLIENT_ID at the
   * auth-server: `fail` exits with the command to run, `warn` logs it, `off` skips the check.
   * Default: `fail` in production, `warn` elsewhere.
   */
  CONSOLE_REDIRECT_CHECK: z.enum(['fail', 'warn', 'off']).optional(),
});

export type ConsoleConfig = z.infer<typeof consoleEnv>;

/** `PUBLIC_URL`, or where the console listens (https when it serves TLS itself). */
export const publicUrlOf = (config: ConsoleConfig) =>
  (
    config.PUBLIC_URL ??
    `${config.TLS_CERT_FILE ? 'https' : 'http'}://${config.HOST}:${config.PORT}`
  ).replace(/\/+$/, '');
