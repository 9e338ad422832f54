/** Wire shapes of the public resources (snake_case, as the API returns them). */

export interface Region {
  id: string;
  name: string;
}

export interface Project {
  id: string;
  name: string;
  region: string;
  created_at: string;
}

export interface ApiKey {
  id: string;
  project_id: string;
  /** The user the key acts for: its creator. */
  created_by: string;
  name: string;
  /** `sk_live_…` plus the last four characters: enough to recognise a key, not to use it. */
  redacted: string;
  scopes: string[];
  rate_limit: number | null;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

/** Returned once, by the call that created or rotated the key. */
export interface ApiKeyWithSecret extends ApiKey {
  secret: string;
  /** After a rotation: until when the previous secret still works (`null` if it stopped). */
  previous_secret_expires_at?: string | null;
}

export const MEMBER_ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export interface Member {
  user_id: string;
  email: string;
  name: string | null;
  role: MemberRole;
  created_at: string;
}

/** What a DELETE answers. */
export interface Deleted {
  id: string;
  deleted: true;
}

export const TICKET_STATUSES = ['open', 'pending', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export interface SupportTicket {
  id: string;
  subject: string;
  body: string;
  status: TicketStatus;
  /** Requests the ticket is about: ids from the `Request-Id` header of the user's requests. */
  request_ids: string[];
  created_at: string;
  updated_at: string;
}

export interface User {
  id: string;
  email: string;
  name: string | null;
  created_at: string;
}

export interface ListPage<T> {
  data: T[];
  has_more: boolean;
}

export type OAuthClientType = 'confidential' | 'public';

/** A third-party app registered by a user. Its secret is returned once, at creation. */
export interface OAuthClient {
  id: string;
  name: string;
  type: OAuthClientType;
  redirect_uris: string[];
  created_at: string;
}

export interface OAuthClientWithSecret extends OAuthClient {
  client_secret?: string;
}

export interface UsageBucket {
  /** Start of the bucket, RFC 3339. */
  start: string;
  requests: number;
  /** With `group_by`: the key or OAuth client, the endpoint, or the status class. */
  key?: string;
  endpoint?: string;
  status?: string;
}

export interface UsageReport {
  project_id: string;
  granularity: string;
  start: string;
  end: string;
  group_by: string | null;
  total_requests: number;
  /** Every request counted before this time is included in the figures. */
  complete_through: string;
  data: UsageBucket[];
}
