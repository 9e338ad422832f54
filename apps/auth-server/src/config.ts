import { z } from 'zod';
import { baseEnv, port } from '@cap/config';

export const authServerEnv = baseEnv.extend({
  PORT: port(8081),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
});

export type AuthServerConfig = z.infer<typeof authServerEnv>;
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
