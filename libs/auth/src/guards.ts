import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
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

export function isPublic(reflector: Reflector, context: ExecutionContext): boolean {
  return (
    reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]) === true
  );
}

/** The scopes a route needs; a credential must carry every one of them. */
export const RequireScopes = (...scopes: Scope[]) => SetMetadata(SCOPES_KEY, scopes);

@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const required = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required?.length) return true;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    const missing = required.filter((s) => !principal?.scopes.includes(s));
    if (missing.length) {
      throw new DomainError(
        'insufficient_scope',
        `This credential lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`,
      );
    }
    return true;
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
