import { z } from 'zod';
import { baseEnv } from '@cap/config';

export const adminEnv = baseEnv.extend({
  /** Operator commands may wait for a busy or just-starting platform a little longer. */
  ADMIN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
});

export type AdminConfig = z.infer<typeof adminEnv>;
