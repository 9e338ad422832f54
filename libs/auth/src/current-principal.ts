import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { DomainError } from '@cap/contracts';
import { UNAUTHENTICATED_MESSAGE } from './bearer-token';
import type { Principal } from './principal';

/** The authenticated principal of the request. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    if (!principal) throw new DomainError('unauthenticated', UNAUTHENTICATED_MESSAGE);
    return principal;
  },
);
