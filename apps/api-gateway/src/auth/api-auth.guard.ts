import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { BearerAuthGuard, isPublic } from '@cap/auth';
import { isApiRoute } from '../routes';

/**
 * Every `/v1` route needs a bearer credential unless marked `@Public()`: secure by default.
 * Health endpoints are outside `/v1`.
 */
@Injectable()
export class ApiAuthGuard extends BearerAuthGuard {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isApiRoute(req) || isPublic(this.reflector, context)) return true;
    return super.canActivate(context);
  }
}
