import { createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { DomainError, Scope } from '@cap/contracts';
import type { Principal } from './principal';

export const UNAUTHENTICATED_MESSAGE =
  'Send a valid API key or access token as "Authorization: Bearer <token>".';

/**
 * Requires a valid bearer credential. Missing, malformed, unknown, expired and revoked
 * credentials all get the same `401 unauthenticated`, so none can be told apart.
 */
@Injectable()
export class BearerAuthGuard extends AuthGuard('bearer') {
  override handleRequest<T>(err: unknown, user: T | false): T {
    if (err instanceof DomainError) throw err;
    if (err || !user) throw new DomainError('unauthenticated', UNAUTHENTICATED_MESSAGE);
    return user;
  }
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

export function routeAccess(reflector: Reflector, context: ExecutionContext): RouteAccess {
  const targets = [context.getHandler(), context.getClass()];
  return {
    public: reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true,
    scopes: reflector.getAllAndOverride<Scope[] | undefined>(SCOPES_KEY, targets) ?? [],
  };
}

/** `403 insufficient_scope` unless the principal carries every required scope. */
export function assertScopes(principal: Principal, required: readonly string[]): void {
  if (required.length === 0) return;
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
