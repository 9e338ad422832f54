import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { BearerAuthGuard, isPublic, Principal } from '@cap/auth';
import { RequestIdSigner } from '../request-ids';
import { isApiRoute } from '../routes';

/**
 * Every `/v1` route needs a bearer credential unless marked `@Public()`: secure by default.
 * Health endpoints are outside `/v1`.
 */
@Injectable()
export class ApiAuthGuard extends BearerAuthGuard {
  constructor(
    private readonly reflector: Reflector,
    private readonly requestIds: RequestIdSigner,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    if (!isApiRoute(req) || isPublic(this.reflector, context)) return true;
    const ok = (await super.canActivate(context)) as boolean;
    // From here on the request id is one the user can later prove is theirs.
    if (ok && req.user?.user_id) req.id = this.requestIds.sign(req.user.user_id);
    return ok;
  }
}
