import { z } from 'zod';
import { baseEnv, databaseEnv, port } from '@cap/config';

export const projectsServiceEnv = baseEnv.extend({
  PORT: port(8082),
  ...databaseEnv,
  RPC_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
});

export type ProjectsServiceConfig = z.infer<typeof projectsServiceEnv>;
export const CONFIG = Symbol('CONFIG');
