import { Actor, DomainError, ProjectAccess } from '@cap/contracts';

/** Who is calling, as the gateway established it from the bearer credential. */
export interface ApiKeyPrincipal {
  kind: 'api_key';
  user_id: string;
  key_id: string;
  /** The project the key was issued for: its usage and rate limit count there. */
  project_id: string;
  scopes: string[];
  rate_limit: number | null;
  /** `own`: the key may act only in `project_id` (other projects look absent). */
  project_access: ProjectAccess;
  /** The OAuth grant the key was made under, or `null`. */
  grant_id: string | null;
  /** The key's previous secret was presented (a rotation's grace period). */
  superseded?: true;
}

/** A caller with an OAuth 2.0 access token (a JWT the gateway verified). */
export interface OAuthPrincipal {
  kind: 'oauth';
  /** The user the token acts for; `null` for a client-credentials token. */
  user_id: string | null;
  client_id: string;
  scopes: string[];
  /** The token's `jti` and grant id, by which it can be revoked. */
  token_id: string;
  grant_id: string | null;
  /** Issued to the operator's own console (the `first_party` claim): see `Actor.first_party`. */
  first_party?: true;
  /** Unix time (seconds) the token expires at. */
  expires_at: number;
  rate_limit: null;
}

export type Principal = ApiKeyPrincipal | OAuthPrincipal;

/**
 * The bucket a principal's requests fall in — per API key, or per OAuth client and user: what
 * the rate limit counts and what scopes its Idempotency-Keys.
 */
export function bucketOf(principal: Principal): string {
  return principal.kind === 'api_key'
    ? `key:${principal.key_id}`
    : `oauth:${principal.client_id}:${principal.user_id ?? '-'}`;
}

/** Resolves a bearer token to a principal, or `null` when it grants nothing. */
export interface PrincipalResolver {
  resolve(token: string): Promise<Principal | null>;
}

export const PRINCIPAL_RESOLVER = Symbol('PRINCIPAL_RESOLVER');

/** The actor a service command runs as. */
export function actorOf(principal: Principal): Actor {
  if (principal.kind === 'api_key') {
    return {
      user_id: principal.user_id,
      key_id: principal.key_id,
      scopes: principal.scopes,
      ...(principal.project_access === 'own' ? { confined_to: principal.project_id } : {}),
      ...(principal.grant_id ? { grant_id: principal.grant_id } : {}),
      ...(principal.superseded ? { superseded: true as const } : {}),
    };
  }
  if (!principal.user_id) {
    throw new DomainError('forbidden', 'This access token does not act for a user.');
  }
  return {
    user_id: principal.user_id,
    client_id: principal.client_id,
    scopes: principal.scopes,
    ...(principal.grant_id ? { grant_id: principal.grant_id } : {}),
    ...(principal.first_party ? { first_party: true as const } : {}),
  };
}
