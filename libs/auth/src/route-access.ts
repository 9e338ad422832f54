import { SetMetadata } from '@nestjs/common';
import { DomainError, Scope } from '@cap/contracts';
import type { Principal } from './principal';

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
