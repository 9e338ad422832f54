import { z } from 'zod';
import { DEVELOPMENT_EMAIL_VERIFICATION_SECRET } from '@cap/auth';
import { baseEnv, databaseEnv, port, postgresUrl, publicHttpEnv } from '@cap/config';

/**
 * Used when COOKIE_SECRETS or KEY_ENCRYPTION_SECRET is not set outside production, so that
 * `npm start` and the tests work with no setup. Production refuses to start without real ones.
 */
const DEVELOPMENT_SECRET = 'development-only-secret-do-not-use-in-production';

const seconds = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const secret = z.string().min(32, 'must be at least 32 characters');

export const authServerEnv = baseEnv
  .extend({
    PORT: port(8081),
    ...publicHttpEnv,
    ...databaseEnv,
    /**
     * The OAuth issuer identifier (`iss` of every token), as clients reach this server. Defaults
     * to `http://HOST:PORT` (`https://` with TLS_CERT_FILE); set it whenever the server is reached
     * through another address.
     */
    ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    /** The API the access tokens are for: their `aud`, and the default resource indicator. */
    API_AUDIENCE: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    ACCESS_TOKEN_TTL_S: seconds(60, 86_400, 900),
    /** Authorization codes work once, within this many seconds. */
    AUTH_CODE_TTL_S: seconds(1, 600, 60),
    REFRESH_TOKEN_TTL_S: seconds(300, 31_536_000, 30 * 86_400),
    /** How long a consent is remembered (and a grant's refresh tokens can be used). */
    GRANT_TTL_S: seconds(300, 63_072_000, 365 * 86_400),
    /** Browser session at the auth-server (the sign-in). */
    SESSION_TTL_S: seconds(60, 31_536_000, 14 * 86_400),
    /** Comma-separated keys that sign cookies and CSRF tokens; the first signs, all verify. */
    COOKIE_SECRETS: z
      .string()
      .transform((s) => s.split(',').map((k) => k.trim()))
      .pipe(z.array(secret).min(1))
      .optional(),
    /** Seals the private signing keys stored in Postgres (AES-256-GCM). */
    KEY_ENCRYPTION_SECRET: secret.optional(),
    /** Signs email verification links (HMAC-SHA256). Changing it voids links not yet used. */
    EMAIL_VERIFICATION_SECRET: secret.optional(),
    /**
     * Where mail goes (`smtp://user:pass@host:587`, `smtps://…:465`). Unset: verification links
     * are written to this server's log at `info` instead, for local use.
     */
    SMTP_URL: z.preprocess(
      (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
      z.url({ protocol: /^smtps?$/ }).optional(),
    ),
    /** The From of the mail this server sends. */
    MAIL_FROM: z.string().min(3).default('Cloud API Platform <no-reply@localhost>'),
    /**
     * Failed sign-ins within SIGNIN_WINDOW_S: per account from one client address (so failures
     * elsewhere never lock its owner out), and per client address over all accounts.
     */
    SIGNIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
    SIGNIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100_000).default(20),
    SIGNIN_WINDOW_S: seconds(1, 86_400, 900),
    /** Sign-up forms sent per client address within SIGNUP_WINDOW_S. */
    SIGNUP_MAX_PER_IP: z.coerce.number().int().min(1).max(100_000).default(10),
    SIGNUP_WINDOW_S: seconds(1, 86_400, 3_600),
    /** Requests to the token endpoint per client per minute (sliding), all replicas together. */
    TOKEN_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
    /** How often every replica re-reads the signing keys (a rotation also tells them at once). */
    SIGNING_KEYS_REFRESH_S: seconds(1, 3_600, 60),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== 'production') return;
    for (const name of [
      'ISSUER',
      'COOKIE_SECRETS',
      'KEY_ENCRYPTION_SECRET',
      'EMAIL_VERIFICATION_SECRET',
    ] as const) {
      if (env[name] === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
    }
  })
  .transform((env) => ({
    ...env,
    ISSUER: (
      env.ISSUER ?? `${env.TLS_CERT_FILE ? 'https' : 'http'}://${env.HOST}:${env.PORT}`
    ).replace(/\/$/, ''),
    API_AUDIENCE: env.API_AUDIENCE.replace(/\/$/, ''),
    COOKIE_SECRETS: env.COOKIE_SECRETS ?? [DEVELOPMENT_SECRET],
    KEY_ENCRYPTION_SECRET: env.KEY_ENCRYPTION_SECRET ?? DEVELOPMENT_SECRET,
    EMAIL_VERIFICATION_SECRET:
      env.EMAIL_VERIFICATION_SECRET ?? DEVELOPMENT_EMAIL_VERIFICATION_SECRET,
    /** Whether a development default stands in for a secret (logged as a warning at start). */
    usesDevelopmentSecrets:
      !env.COOKIE_SECRETS || !env.KEY_ENCRYPTION_SECRET || !env.EMAIL_VERIFICATION_SECRET,
  }));

export type AuthServerConfig = z.infer<typeof authServerEnv>;
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');

/** What the signing-key rotation command needs: the database, Redis and the sealing secret. */
export const rotateSigningKeyEnv = baseEnv
  .extend({
    DATABASE_URL: postgresUrl(),
    KEY_ENCRYPTION_SECRET: secret.optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.KEY_ENCRYPTION_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['KEY_ENCRYPTION_SECRET'],
        message: 'is required in production',
      });
    }
  })
  .transform((env) => ({
    ...env,
    KEY_ENCRYPTION_SECRET: env.KEY_ENCRYPTION_SECRET ?? DEVELOPMENT_SECRET,
  }));
