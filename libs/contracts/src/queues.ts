import { z } from 'zod';
import { DomainError, type ErrorShape } from './domain-error';
import type {
  ApiKey,
  Deleted,
  Invitation,
  ListPage,
  Member,
  MemberRole,
  OAuthClient,
  OAuthClientType,
  Project,
  ProjectAccess,
  Region,
  SupportTicket,
  UsageReport,
  User,
} from './resources';

/**
 * Queue names, job names and payload types: the only place they are written. Every payload is
 * plain JSON with a version `v`, and never carries a secret (API key secrets and passwords are
 * hashed by whoever holds them before anything is queued).
 */
export const QUEUES = {
  projects: 'projects',
  identity: 'identity',
  /**
   * Operator jobs (`admin.…`, ProjectsAdminJobs / IdentityAdminJobs), for the admin CLI only: the
   * gateway's Redis user cannot reach these queues, and the public ones refuse `admin.` jobs.
   */
  adminProjects: 'admin-projects',
  adminIdentity: 'admin-identity',
  /** Usage batches from the gateways (fire-and-forget, deterministic job ids). */
  usage: 'usage',
  /** Usage queries (request/reply). */
  usageQueries: 'usage-queries',
} as const;

/** Redis pub/sub channels (prefixed like the queues). */
export const CHANNELS = {
  /** A key stopped working: every gateway drops it from its cache. */
  keyRevoked: 'events:key-revoked',
  /** OAuth tokens stopped working (revocation, refresh-token reuse, code replay). */
  tokenRevoked: 'events:token-revoked',
  /** The auth-server's signing keys changed: every auth-server reloads them. */
  signingKeysChanged: 'events:auth-signing-keys-changed',
} as const;

/**
 * Redis keys (after the queue prefix and a colon) that mark a revoked access token by `jti`, or
 * every token of a grant by grant id `gid`, until the tokens would have expired anyway.
 * The gateway checks them once, when it first sees a token.
 */
export const REVOKED_TOKEN_KEYS = {
  jti: (jti: string) => `revoked:jti:${jti}`,
  grant: (gid: string) => `revoked:gid:${gid}`,
} as const;

export interface TokenRevokedEvent {
  v: 1;
  jtis: string[];
  grant_ids: string[];
}

export interface KeyRevokedEvent {
  v: 1;
  key_ids: string[];
}

/** Who a command acts for, as established by the gateway from the bearer credential. */
export interface Actor {
  user_id: string;
  /** The API key used, when one was. */
  key_id?: string;
  /** The OAuth client the access token was issued to, when one was used. */
  client_id?: string;
  scopes: string[];
  /** Set for a key with `project_access: own`: the one project it may act in. */
  confined_to?: string;
  /**
   * The OAuth grant behind the credential: an access token's, or that of the token an API key
   * was made with. Keys made by such an actor are bound to it and revoked with it.
   */
  grant_id?: string;
  /**
   * The access token was issued to a first-party client (the operator's console): the user
   * acting in their own session there. Keys it makes belong to the user, not to that session's
   * grant, so signing out of the console does not revoke them.
   */
  first_party?: true;
  /**
   * The API key's previous secret was used (a rotation's grace period): it may keep calling the
   * API, but not make or rotate keys, so a leaked secret that was rotated away cannot outlive
   * the rotation.
   */
  superseded?: true;
}

/**
 * `403 forbidden` when `actor` presented a key's previous secret: during a rotation's grace
 * period it keeps working for ordinary calls, but it can never mint credentials (keys, a
 * rotation, OAuth apps), or a leaked secret would outlive the rotation meant to end it.
 */
export function assertCurrentSecret(actor: Actor, what: string): void {
  if (actor.superseded) {
    throw new DomainError(
      'forbidden',
      `This key's secret was rotated: the previous secret still works until its grace period ` +
        `ends, but cannot ${what}. Use the key's new secret.`,
    );
  }
}

/** What the gateway caches for a valid key: everything the hot path needs, no secret. */
export interface KeyPrincipal {
  key_id: string;
  user_id: string;
  project_id: string;
  scopes: string[];
  /** The effective limit: the key's own, capped by its project's. */
  rate_limit: number | null;
  project_access: ProjectAccess;
  /** The OAuth grant the key was made under (it dies with it), or `null`. */
  grant_id: string | null;
  expires_at: string | null;
  /** Found by the key's previous secret, in a rotation's grace period. */
  superseded?: true;
}

export type ProjectsJobs = {
  'regions.list': { req: { v: 1 }; res: Region[] };
  'projects.list': {
    req: { v: 1; actor: Actor; limit: number; starting_after?: string };
    res: ListPage<Project>;
  };
  'projects.create': { req: { v: 1; actor: Actor; name: string; region: string }; res: Project };
  'projects.get': { req: { v: 1; actor: Actor; project_id: string }; res: Project };
  /** Needs owner or admin. */
  'projects.update': {
    req: { v: 1; actor: Actor; project_id: string; name: string };
    res: Project;
  };
  /** Needs owner. Revokes every key of the project (and announces it). */
  'projects.delete': { req: { v: 1; actor: Actor; project_id: string }; res: Deleted };
  'members.list': {
    req: { v: 1; actor: Actor; project_id: string; limit: number; starting_after?: string };
    res: ListPage<Member>;
  };
  /**
   * Needs owner or admin (owner to invite an owner). Invites an email address, whether or not
   * anyone has an account with it (the answer is the same); the holder of the verified address
   * accepts. `409 conflict` only for an email of a current member (which the inviter can list).
   */
  'members.invite': {
    req: { v: 1; actor: Actor; project_id: string; email: string; role: MemberRole };
    res: Invitation;
  };
  /** Any member: the project's pending invitations, oldest first. */
  'invitations.list_for_project': {
    req: { v: 1; actor: Actor; project_id: string; limit: number; starting_after?: string };
    res: ListPage<Invitation>;
  };
  /** Needs owner or admin. A pending invitation can no longer be accepted. */
  'invitations.revoke': {
    req: { v: 1; actor: Actor; project_id: string; invitation_id: string };
    res: Invitation;
  };
  /** The pending invitations for the actor's verified email (none while it is unverified). */
  'invitations.list_mine': {
    req: { v: 1; actor: Actor; limit: number; starting_after?: string };
    res: ListPage<Invitation>;
  };
  /**
   * Makes the actor a member with the invited role, if their email is verified and is the
   * invitation's; otherwise `404 not_found`, as if there were no such invitation.
   */
  'invitations.accept': {
    req: { v: 1; actor: Actor; invitation_id: string };
    res: Invitation;
  };
  /**
   * Needs owner or admin (owner to remove an owner); anyone may remove themselves. The last
   * owner cannot be removed. The member's keys of the project stop working at once.
   */
  'members.remove': {
    req: { v: 1; actor: Actor; project_id: string; user_id: string };
    res: Deleted;
  };
  /**
   * Needs owner or admin; owner when the member is or becomes an owner (also for oneself). The
   * last owner cannot be demoted (`409 conflict`). The member's keys stay: they act with the new
   * role from the next request. Pending invitations the member sent that the new role could not
   * send are revoked.
   */
  'members.update_role': {
    req: { v: 1; actor: Actor; project_id: string; user_id: string; role: MemberRole };
    res: Member;
  };
  /**
   * A new secret (made and hashed by the caller) replaces the key's; the previous one keeps
   * working for `grace_period_seconds` (0 to 7 days).
   */
  'keys.rotate': {
    req: {
      v: 1;
      actor: Actor;
      key_id: string;
      secret_hash: string;
      last4: string;
      grace_period_seconds: number;
    };
    res: ApiKey & { previous_secret_expires_at: string | null };
  };
  /** Batched by the gateways: when each key was last used. */
  'keys.touch': { req: { v: 1; used: Array<{ key_id: string; at: string }> }; res: null };
  'tickets.create': {
    req: {
      v: 1;
      actor: Actor;
      subject: string;
      body: string;
      /** Already checked by the gateway to be the actor's own requests. */
      request_ids: string[];
    };
    res: SupportTicket;
  };
  'tickets.list': {
    req: { v: 1; actor: Actor; limit: number; starting_after?: string };
    res: ListPage<SupportTicket>;
  };
  'tickets.get': { req: { v: 1; actor: Actor; ticket_id: string }; res: SupportTicket };
  'keys.create': {
    req: {
      v: 1;
      actor: Actor;
      project_id: string;
      name: string;
      secret_hash: string;
      last4: string;
      scopes?: string[];
      expires_at?: string;
      rate_limit?: number;
      project_access?: ProjectAccess;
    };
    res: ApiKey;
  };
  'keys.list': {
    req: { v: 1; actor: Actor; project_id: string; limit: number; starting_after?: string };
    res: ListPage<ApiKey>;
  };
  'keys.revoke': { req: { v: 1; actor: Actor; key_id: string }; res: ApiKey };
  'keys.authenticate': { req: { v: 1; secret_hash: string }; res: KeyPrincipal | null };
  /**
   * Operator commands (admin CLI): they act as the project's first owner. Every `admin.` job is
   * served on QUEUES.adminProjects only (ProjectsAdminJobs), never on QUEUES.projects.
   */
  'admin.keys.create': {
    req: { v: 1; project_id: string; name: string; secret_hash: string; last4: string };
    res: ApiKey;
  };
  'admin.keys.revoke': { req: { v: 1; key_id: string }; res: ApiKey };
  /** Operator: a project's rate limit (per minute), the ceiling of its keys' own limits. */
  'admin.projects.set-limit': {
    req: { v: 1; project_id: string; rate_limit: number };
    res: { project_id: string; rate_limit: number };
  };
  /** The operator adds an existing user (by email) directly, with no invitation. */
  'admin.members.add': {
    req: { v: 1; project_id: string; email: string; role: MemberRole };
    res: Member;
  };
};

/** What a new OAuth client needs: for the gateway's `clients.create` and the operator's. */
interface ClientCreateJob {
  req: {
    v: 1;
    actor: Actor;
    name: string;
    redirect_uris: string[];
    type: OAuthClientType;
    /** SHA-256 hex of the client secret; absent for public clients. */
    secret_hash?: string;
  };
  res: OAuthClient;
}

export type IdentityJobs = {
  /**
   * Operator only (admin CLI; QUEUES.adminIdentity): users sign up through the auth-server. The
   * email of a user the operator creates counts as verified (the operator vouches for it).
   */
  'admin.users.create': {
    req: { v: 1; email: string; name?: string; password_hash: string };
    res: User;
  };
  /**
   * The operator's `create-client` (QUEUES.adminIdentity), as `clients.create`; only the
   * operator can register a first-party client (see `Actor.first_party`).
   */
  'admin.clients.create': {
    req: ClientCreateJob['req'] & { first_party?: boolean };
    res: OAuthClient;
  };
  'users.find-by-email': { req: { v: 1; email: string }; res: User | null };
  'users.get': { req: { v: 1; user_id: string }; res: User };
  /** Registers a third-party app for `actor`. The secret is made and hashed by the caller. */
  'clients.create': ClientCreateJob;
  'clients.list': {
    req: { v: 1; actor: Actor; limit: number; starting_after?: string };
    res: ListPage<OAuthClient>;
  };
};

/** A job map: job name → request and response payloads. */
export type JobMap = Record<string, { req: unknown; res: unknown }>;

/**
 * Operator jobs are named `admin.…` and travel on admin queues of their own (QUEUES.admin*),
 * which only the admin CLI's Redis user may write. A map's `admin.` jobs are split off by name:
 * a new operator job is added to ProjectsJobs or IdentityJobs as `admin.<what>`, and its handler
 * to the service's admin RPC server (the public server's handler map does not accept it).
 */
export type AdminJobName = `admin.${string}`;

export function isAdminJob(name: string): boolean {
  return name.startsWith('admin.');
}

/** Whether `queue` is one of the operator's queues (it serves `admin.` jobs and only those). */
export function isAdminQueue(queue: string): boolean {
  return queue === QUEUES.adminProjects || queue === QUEUES.adminIdentity;
}

/** The jobs of `J` a public queue serves: all but the `admin.` ones. */
export type PublicJobs<J extends JobMap> = {
  [K in keyof J as K extends AdminJobName ? never : K]: J[K];
};
/** The jobs of `J` its admin queue serves: the `admin.` ones. */
export type AdminJobs<J extends JobMap> = {
  [K in keyof J as K extends AdminJobName ? K : never]: J[K];
};

/** QUEUES.projects (the gateway's) and QUEUES.adminProjects (the admin CLI's). */
export type ProjectsPublicJobs = PublicJobs<ProjectsJobs>;
export type ProjectsAdminJobs = AdminJobs<ProjectsJobs>;
/** QUEUES.identity (the gateway's) and QUEUES.adminIdentity (the admin CLI's). */
export type IdentityPublicJobs = PublicJobs<IdentityJobs>;
export type IdentityAdminJobs = AdminJobs<IdentityJobs>;

/** What a request/reply job returns: domain errors are values, so BullMQ never retries them. */
export type RpcReply<T> = { ok: true; data: T } | { ok: false; error: ErrorShape };

const rfc3339 = z.iso.datetime({ offset: true });

/**
 * What a gateway flushes about once a second, and what usage-worker accepts (anything else goes
 * to the dead-letter table). `id` is `<source>.<sequence>` and is the job id, so a batch queued
 * twice is stored once; the worker also records it in Postgres, so a batch delivered twice is
 * counted once. `through`: every request this source finished before it is in this batch or an
 * earlier one. `final`: the source's last batch (a clean shutdown); it no longer holds back
 * `complete_through`.
 *
 * Each row is one metered dimension: requests that finished in one minute with one outcome.
 * `principal` is `key_…` for an API key, `cli_…` for an OAuth client; `endpoint` the route
 * template (`GET /v1/projects/:id`); `minute` the start of the minute.
 */
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
export type UsageBatchJob = z.infer<typeof usageBatchSchema>;
export type UsageRow = UsageBatchJob['rows'][number];

/** How many requests rows count in all. */
export function requestsIn(rows: readonly Pick<UsageRow, 'count'>[]): number {
  return rows.reduce((n, r) => n + r.count, 0);
}

export const USAGE_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];
/** The length of a usage bucket of each granularity. */
export const USAGE_BUCKET_MS: Readonly<Record<UsageGranularity, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};
export const USAGE_GROUPS = ['key', 'endpoint', 'status'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export type UsageJobs = {
  'usage.query': {
    req: {
      v: 1;
      actor: Actor;
      project_id: string;
      start: string;
      end: string;
      granularity: UsageGranularity;
      group_by?: UsageGroup;
    };
    res: UsageReport;
  };
};
