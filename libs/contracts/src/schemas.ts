import { z } from 'zod';
import { isId } from './ids';
import { USAGE_GRANULARITIES, USAGE_GROUPS } from './queues';
import { MAX_RATE_LIMIT, MEMBER_ROLES, OAUTH_CLIENT_TYPES, PROJECT_ACCESS } from './resources';
import { SCOPES } from './scopes';

/** Emails are compared case-insensitively: they are stored, and looked up, lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Request shapes of `/v1`, validated at the gateway. Objects are strict: an unknown field is
 * an error naming the field, never silently ignored or assigned.
 */

/**
 * Any string of the API: no NUL (Postgres cannot store it) and no lone UTF-16 surrogate
 * (not Unicode; it would be stored as U+FFFD or refused by the database).
 */
export const text = () =>
  z
    .string()
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine((s) => !/\p{Cs}/u.test(s), 'must be valid Unicode');

// C0 and C1 controls and DEL: invisible in consoles and logs.
const name = text()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), 'must not contain control characters');

const projectId = z.string().refine((s) => isId('project', s), 'must be a project id (prj_…)');
const keyId = z.string().refine((s) => isId('key', s), 'must be a key id (key_…)');

export const createProjectBody = z.strictObject({
  name,
  region: text().min(1, 'must not be empty').max(64, 'is too long'),
});
export type CreateProjectBody = z.infer<typeof createProjectBody>;

export const createKeyBody = z.strictObject({
  project_id: projectId,
  name,
  scopes: z
    .array(z.enum(SCOPES))
    .min(1, 'must name at least one scope')
    .max(SCOPES.length)
    .refine((a) => new Set(a).size === a.length, 'must not repeat a scope')
    .optional(),
  expires_at: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 time' })
    .refine((s) => Date.parse(s) > Date.now(), 'must be in the future')
    .optional(),
  /** At most the project's limit (checked by projects-service); this is only a syntactic bound. */
  rate_limit: z.int('must be an integer').min(1).max(MAX_RATE_LIMIT).optional(),
  project_access: z.enum(PROJECT_ACCESS).optional(),
});
export type CreateKeyBody = z.infer<typeof createKeyBody>;

export const listQuery = z.strictObject({
  limit: z.coerce
    .number('must be an integer')
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(20),
  starting_after: z
    .string()
    .regex(/^[a-z]{3}_[0-9A-Za-z]{1,64}$/, 'must be an id from a previous page')
    .optional(),
});

export const listKeysQuery = listQuery.extend({ project_id: projectId });
export type ListKeysQuery = z.infer<typeof listKeysQuery>;
export type ListQuery = z.infer<typeof listQuery>;

export const keyIdParam = z.strictObject({ id: keyId });

const time = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 time' });

export const usageQuery = z.strictObject({
  project_id: projectId,
  start: time,
  end: time,
  granularity: z.enum(USAGE_GRANULARITIES).default('hour'),
  group_by: z.enum(USAGE_GROUPS).optional(),
});
export type UsageQuery = z.infer<typeof usageQuery>;

export const projectIdParam = z.strictObject({ id: projectId });

export const updateProjectBody = z.strictObject({ name });
export type UpdateProjectBody = z.infer<typeof updateProjectBody>;

export const memberParams = z.strictObject({
  id: projectId,
  user_id: z.string().refine((s) => isId('user', s), 'must be a user id (usr_…)'),
});

export const addMemberBody = z.strictObject({
  email: z.email('must be an email address').max(254),
  role: z.enum(MEMBER_ROLES),
});
export type AddMemberBody = z.infer<typeof addMemberBody>;

export const updateMemberBody = z.strictObject({ role: z.enum(MEMBER_ROLES) });
export type UpdateMemberBody = z.infer<typeof updateMemberBody>;

export const invitationIdParam = z.strictObject({
  id: z.string().refine((s) => isId('invitation', s), 'must be an invitation id (inv_…)'),
});

export const projectInvitationParams = z.strictObject({
  id: projectId,
  invitation_id: z
    .string()
    .refine((s) => isId('invitation', s), 'must be an invitation id (inv_…)'),
});

/** Rotation: how long the previous secret keeps working (0 s to 7 days; default 24 h). */
export const rotateKeyBody = z.strictObject({
  grace_period_seconds: z.int('must be an integer').min(0).max(604_800).default(86_400),
});
export type RotateKeyBody = z.infer<typeof rotateKeyBody>;

const requestId = z.string().refine((s) => isId('request', s), 'must be a request id (req_…)');

export const createTicketBody = z.strictObject({
  subject: name,
  body: text().trim().min(1, 'must not be empty').max(20_000, 'is too long'),
  request_ids: z
    .array(requestId)
    .max(20, 'at most 20')
    .refine((a) => new Set(a).size === a.length, 'must not repeat an id')
    .default([]),
});
export type CreateTicketBody = z.infer<typeof createTicketBody>;

export const ticketIdParam = z.strictObject({
  id: z.string().refine((s) => isId('ticket', s), 'must be a ticket id (tkt_…)'),
});

export const createClientBody = z.strictObject({
  name,
  redirect_uris: z.array(text().max(2000)).min(1, 'must name at least one').max(10),
  type: z.enum(OAUTH_CLIENT_TYPES).default('confidential'),
});
export type CreateClientBody = z.infer<typeof createClientBody>;

/** Routes that take no body: an empty object or nothing; any field is refused by name. */
export const noBody = z.strictObject({}).optional();
