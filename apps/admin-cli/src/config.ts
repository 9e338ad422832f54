import { z } from 'zod';
import { DEVELOPMENT_EMAIL_VERIFICATION_SECRET } from '@cap/auth';
import { baseEnv } from '@cap/config';

export const adminEnv = baseEnv
  .extend({
    /** Operator commands may wait for a busy or just-starting platform a little longer. */
    ADMIN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /**
     * The auth-server's: `verification-link` signs the link here, so that it never crosses a
     * queue. Required in production (as for the auth-server); a development default otherwise.
     */
    EMAIL_VERIFICATION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** The auth-server's public address (its ISSUER), which the link points to. */
    ISSUER: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8081'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.EMAIL_VERIFICATION_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['EMAIL_VERIFICATION_SECRET'],
        message: 'is required in production',
      });
    }
  })
  .transform((env) => ({
    ...env,
    EMAIL_VERIFICATION_SECRET:
      env.EMAIL_VERIFICATION_SECRET ?? DEVELOPMENT_EMAIL_VERIFICATION_SECRET,
  }));

export type AdminConfig = z.infer<typeof adminEnv>;
