import type { Actor } from '@cap/contracts';

/** Who is calling, as the gateway established it from the bearer credential. */
export interface ApiKeyPrincipal {
  kind: 'api_key';
  user_id: string;
  key_id: string;
  /** The project the key was issued for: its usage and rate limit count there. */
  project_id: string;
  scopes: string[];
  rate_limit: number | null;
}

export type Principal = ApiKeyPrincipal;

/** Resolves a bearer token to a principal, or `null` when it grants nothing. */
export interface PrincipalResolver {
  resolve(token: string): Promise<Principal | null>;
}

export const PRINCIPAL_RESOLVER = Symbol('PRINCIPAL_RESOLVER');

/** The actor a service command runs as. */
export function actorOf(principal: Principal): Actor {
  return { user_id: principal.user_id, key_id: principal.key_id, scopes: principal.scopes };
}
