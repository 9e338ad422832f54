import { z } from 'zod';
import { baseEnv, port } from '@cap/config';

export const projectsServiceEnv = baseEnv.extend({
  PORT: port(8082),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  RPC_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
});

export type ProjectsServiceConfig = z.infer<typeof projectsServiceEnv>;
export const CONFIG = Symbol('CONFIG');
