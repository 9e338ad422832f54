import { z } from 'zod';
import { baseEnv, port } from '@cap/config';

export const usageWorkerEnv = baseEnv.extend({
  PORT: port(8083),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Batches ingested at once (each is one transaction). */
  USAGE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
});

export type UsageWorkerConfig = z.infer<typeof usageWorkerEnv>;
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
