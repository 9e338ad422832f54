import { z } from 'zod';

/**
 * Wire shapes of the public resources (snake_case, as the API returns them), as zod schemas:
 * the types below are inferred from them, and the OpenAPI document is generated from them, so
 * the two cannot drift. Examples are the seed documentation's.
 */

const time = z.string().meta({ format: 'date-time', example: '2026-03-06T12:00:00Z' });
const nullableTime = time.nullable();

export const regionSchema = z
  .object({ id: z.string(), name: z.string() })
  .meta({ id: 'Region', example: { id: 'us-east', name: 'US East (Virginia)' } });
export type Region = z.infer<typeof regionSchema>;

export const projectSchema = z
  .object({
    id: z.string().meta({ example: 'prj_789' }),
    name: z.string(),
    region: z.string(),
    created_at: time,
  })
  .meta({
    id: 'Project',
    example: {
      id: 'prj_789',
      name: 'edge-ingest',
      region: 'us-east',
      created_at: '2026-03-06T12:00:00Z',
    },
  });
export type Project = z.infer<typeof projectSchema>;

/**
 * Where a key may act. `member`: wherever its creator is a member (the default: the seed's
 * examples list and create projects with a key). `own`: only in the project it was issued for;
 * other projects look absent (404), `GET /v1/projects` lists that one project, and creating
 * projects or OAuth clients is refused (403).
 */
export const PROJECT_ACCESS = ['own', 'member'] as const;
export type ProjectAccess = (typeof PROJECT_ACCESS)[number];

/** Requests per minute a project's keys may use at most, unless an operator changes it. */
export const DEFAULT_PROJECT_RATE_LIMIT = 600;
/** The syntactic bound of any rate limit (per minute): a key's is also capped by its project's. */
export const MAX_RATE_LIMIT = 10_000_000;
/** Live (unrevoked, unexpired) keys a project may hold at once. */
export const MAX_LIVE_KEYS_PER_PROJECT = 100;
/** OAuth clients (third-party apps) one user may register. */
export const MAX_OAUTH_CLIENTS_PER_USER = 25;

export const apiKeySchema = z
  .object({
    id: z.string(),
    project_id: z.string(),
    /** The user the key acts for: its creator. */
    created_by: z.string(),
    name: z.string(),
    /** `sk_live_…` plus the last four characters: enough to recognise a key, not to use it. */
    redacted: z.string().meta({ example: 'sk_live_…Fzq3' }),
    scopes: z.array(z.string()),
    rate_limit: z.number().int().nullable(),
    project_access: z.enum(PROJECT_ACCESS).meta({
      description:
        '`own`: the key acts only in its project (other projects look absent); `member`: in ' +
        'every project of its creator.',
    }),
    expires_at: nullableTime,
    last_used_at: nullableTime,
    revoked_at: nullableTime,
    created_at: time,
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof apiKeySchema>;

/** Returned once, by the call that created or rotated the key. */
export const apiKeyWithSecretSchema = apiKeySchema
  .extend({
    secret: z.string().meta({ description: 'Shown once. Store it now.' }),
    /** After a rotation: until when the previous secret still works (`null` if it stopped). */
    previous_secret_expires_at: nullableTime.optional(),
  })
  .meta({ id: 'ApiKeyWithSecret' });
export type ApiKeyWithSecret = z.infer<typeof apiKeyWithSecretSchema>;

export const MEMBER_ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const memberSchema = z
  .object({
    user_id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(MEMBER_ROLES),
    created_at: time,
  })
  .meta({ id: 'Member' });
export type Member = z.infer<typeof memberSchema>;

export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/**
 * An invitation to join a project, addressed to an email. It says nothing of whether anyone
 * has an account with that address; only the holder of the verified address can accept it.
 */
export const invitationSchema = z
  .object({
    id: z.string().meta({ example: 'inv_3fQ9aZ8vY8qW8k9fFzq3' }),
    project_id: z.string(),
    project_name: z.string(),
    email: z.string(),
    role: z.enum(MEMBER_ROLES),
    /** The member who invited (`usr_…`). */
    invited_by: z.string(),
    status: z.enum(INVITATION_STATUSES),
    created_at: time,
    expires_at: time,
  })
  .meta({ id: 'Invitation' });
export type Invitation = z.infer<typeof invitationSchema>;

/** What a DELETE answers. */
export const deletedSchema = z
  .object({ id: z.string(), deleted: z.literal(true) })
  .meta({ id: 'Deleted' });
export type Deleted = z.infer<typeof deletedSchema>;

export const TICKET_STATUSES = ['open', 'pending', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const supportTicketSchema = z
  .object({
    id: z.string(),
    subject: z.string(),
    body: z.string(),
    status: z.enum(TICKET_STATUSES),
    /** Requests the ticket is about: ids from the `Request-Id` header of the user's requests. */
    request_ids: z.array(z.string()),
    created_at: time,
    updated_at: time,
  })
  .meta({ id: 'SupportTicket' });
export type SupportTicket = z.infer<typeof supportTicketSchema>;

export const userSchema = z
  .object({ id: z.string(), email: z.string(), name: z.string().nullable(), created_at: time })
  .meta({ id: 'User' });
export type User = z.infer<typeof userSchema>;

export interface ListPage<T> {
  data: T[];
  has_more: boolean;
}

/** The list envelope of every list endpoint. */
export function listPageSchema<S extends z.ZodType>(item: S, id: string) {
  return z.object({ data: z.array(item), has_more: z.boolean() }).meta({ id });
}

export const OAUTH_CLIENT_TYPES = ['confidential', 'public'] as const;
export type OAuthClientType = (typeof OAUTH_CLIENT_TYPES)[number];

/** A third-party app registered by a user. Its secret is returned once, at creation. */
export const oauthClientSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(OAUTH_CLIENT_TYPES),
    redirect_uris: z.array(z.string()),
    created_at: time,
  })
  .meta({ id: 'OAuthClient' });
export type OAuthClient = z.infer<typeof oauthClientSchema>;

export const oauthClientWithSecretSchema = oauthClientSchema
  .extend({ client_secret: z.string().optional() })
  .meta({ id: 'OAuthClientWithSecret' });
export type OAuthClientWithSecret = z.infer<typeof oauthClientWithSecretSchema>;

export const usageBucketSchema = z
  .object({
    /** Start of the bucket, RFC 3339. */
    start: time,
    requests: z.number().int(),
    /** With `group_by`: the key or OAuth client, the endpoint, or the status class. */
    key: z.string().optional(),
    endpoint: z.string().optional(),
    status: z.string().optional(),
  })
  .meta({ id: 'UsageBucket' });
export type UsageBucket = z.infer<typeof usageBucketSchema>;

export const usageReportSchema = z
  .object({
    project_id: z.string(),
    granularity: z.string(),
    start: time,
    end: time,
    group_by: z.string().nullable(),
    total_requests: z.number().int(),
    /** Every request counted before this time is included in the figures. */
    complete_through: time,
    data: z.array(usageBucketSchema),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof usageReportSchema>;
