import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { DomainError, Scope } from '@cap/contracts';
import type { Principal } from './principal';

export const UNAUTHENTICATED_MESSAGE =
  'Send a valid API key or access token as "Authorization: Bearer <token>".';

/**
 * The credential of an RFC 6750 `Authorization: Bearer <token>` header (scheme
 * case-insensitive), or `undefined`. Its characters are not checked here: every token the
 * platform accepts has a stricter shape of its own (an API key's, a JWT's), checked by whoever
 * resolves it, on a miss of their cache (a cached token was checked when it was first seen).
 * Tokens in query strings or bodies are not accepted: they leak into logs.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length < 8 || header.length > 8192) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return header.slice(7).trim() || undefined;
}

const SCOPES_KEY = 'cap:required-scopes';
const PUBLIC_KEY = 'cap:public';

/** A route anyone may call, with no credential. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** The scopes a route needs; a credential must carry every one of them. */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(SCOPES_KEY, scopes);

/** What a route declares about access: read once per route, not per request. */
export interface RouteAccess {
  public: boolean;
  scopes: readonly string[];
}

/** What a route handler (or, failing that, its controller) declares about access. */
export function routeAccess(handler: object, controller: object): RouteAccess {
  const read = <T>(key: string): T | undefined =>
    (Reflect.getMetadata(key, handler) as T | undefined) ??
    (Reflect.getMetadata(key, controller) as T | undefined);
  return { public: read<boolean>(PUBLIC_KEY) === true, scopes: read<Scope[]>(SCOPES_KEY) ?? [] };
}

/** `403 insufficient_scope` unless the principal carries every required scope. */
export function assertScopes(principal: Principal, required: readonly string[]): void {
  if (required.every((s) => principal.scopes.includes(s))) return;
  const missing = required.filter((s) => !principal.scopes.includes(s));
  if (missing.length) {
    throw new DomainError(
      'insufficient_scope',
      `This credential lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`,
    );
  }
}

/** The authenticated principal of the request. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal) throw new DomainError('unauthenticated', UNAUTHENTICATED_MESSAGE);
    return principal;
  },
);
