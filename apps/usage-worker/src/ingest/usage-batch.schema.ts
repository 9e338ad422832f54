import { z } from 'zod';

const rfc3339 = z.iso.datetime({ offset: true });

/** What a valid batch looks like; anything else goes to the dead-letter table. */
export const usageBatchSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(150),
  through: rfc3339,
  rows: z
    .array(
      z.strictObject({
        project_id: z.string().regex(/^prj_[0-9A-Za-z]{1,64}$/),
        principal: z.string().regex(/^(key|cli)_[0-9A-Za-z]{1,64}$/),
        endpoint: z.string().min(1).max(200),
        status_class: z.enum(['1xx', '2xx', '3xx', '4xx', '5xx']),
        minute: rfc3339.refine((s) => Date.parse(s) % 60_000 === 0, 'must start a minute'),
        count: z.int().min(1).max(1_000_000_000),
      }),
    )
    .max(100_000),
  final: z.boolean().optional(),
});
