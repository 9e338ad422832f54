import { z } from 'zod';
import { baseEnv, port, publicHttpEnv } from '@cap/config';

export const gatewayEnv = baseEnv.extend({
  PORT: port(8080),
  ...publicHttpEnv,
  /** Deadline of a call to a service behind a queue; past it, `503 upstream_timeout`. */
  RPC_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  /** How long a verified key stays in the in-process cache without a revocation event. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  KEY_CACHE_MAX: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /**
   * Unknown keys are remembered apart, in a cache of their own size, for a shorter time: a flood
   * of forged keys cannot push the valid ones out.
   */
  KEY_NEGATIVE_CACHE_MAX: z.coerce.number().int().min(100).max(10_000_000).default(10_000),
  KEY_NEGATIVE_CACHE_TTL_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /**
   * Failed authentications (unknown, malformed, revoked or expired credentials) one client
   * address (an IPv6 /64) may make per minute, all replicas together; past it, `429` until the
   * minute since its first failure is over. Cached valid credentials are never refused by it.
   */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
  /** Requests per window for a key without its own `rate_limit`. */
  RATE_LIMIT_DEFAULT: z.coerce.number().int().min(1).max(100_000_000).default(600),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Share of a limit one gateway leases at a time (see SlidingWindowLimiter). */
  RATE_LIMIT_LEASE_FRACTION: z.coerce.number().min(0).max(0.1).default(0.005),
  RATE_LIMIT_LEASE_TTL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /** Where clients reach this API (the OpenAPI document's server), e.g. https://api.example.com. */
  PUBLIC_URL: z.url().optional(),
  /** The authorization server whose access tokens this API accepts. */
  OAUTH_ISSUER: z.url().default('http://127.0.0.1:8081'),
  OAUTH_AUDIENCE: z.string().min(1).default('http://127.0.0.1:8080'),
  /** Defaults to `<OAUTH_ISSUER>/oauth/jwks`. */
  OAUTH_JWKS_URL: z.url().optional(),
  TOKEN_CACHE_MAX: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /**
   * Longest lifetime (`exp - iat`) of an access token this API accepts; keep it at or above the
   * auth-server's ACCESS_TOKEN_TTL_S.
   */
  ACCESS_TOKEN_MAX_LIFETIME_S: z.coerce.number().int().min(60).max(86_400).default(3_600),
  /** How often the JWKS is fetched again, dropping cached tokens of signing keys that left it. */
  JWKS_REFRESH_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /**
   * Signs request ids so users can prove a request was theirs (support tickets). Every gateway
   * replica needs the same value; without it each process signs with a random key.
   */
  REQUEST_ID_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** How often the last-used times of API keys are sent to projects-service. */
  KEY_TOUCH_FLUSH_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** How often counted usage is flushed to the usage queue. */
  USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
});

export type GatewayConfig = z.infer<typeof gatewayEnv>;
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
