import { z } from 'zod';
import { baseEnv, databaseEnv, port } from '@cap/config';

export const usageWorkerEnv = baseEnv.extend({
  PORT: port(8083),
  ...databaseEnv,
  /** Batches ingested at once (each is one transaction). */
  USAGE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
});

export type UsageWorkerConfig = z.infer<typeof usageWorkerEnv>;
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
