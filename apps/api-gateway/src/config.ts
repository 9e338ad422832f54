import { z } from 'zod';
import { baseEnv, port } from '@cap/config';

export const gatewayEnv = baseEnv.extend({
  PORT: port(8080),
  /** Deadline of a call to a service behind a queue; past it, `503 upstream_timeout`. */
  RPC_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2_000),
  /** How long a verified key stays in the in-process cache without a revocation event. */
  KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  KEY_CACHE_MAX: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
});

export type GatewayConfig = z.infer<typeof gatewayEnv>;
export const CONFIG = Symbol('CONFIG');
