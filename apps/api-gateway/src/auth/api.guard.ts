import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assertScopes, BearerAuthGuard, Principal, routeAccess, RouteAccess } from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { CONFIG, GatewayConfig } from '../config';
import { bucketOf, rateLimitHeaders } from '../rate-limit/rate-limit-headers';
import { Decision, SlidingWindowLimiter } from '../rate-limit/sliding-window.limiter';
import { RequestIdSigner } from '../request-ids';
import { isApiRoute } from '../routes';

type ApiRequest = FastifyRequest & { user?: Principal };

/**
 * The one guard of every `/v1` route, on the request path of every call: who is calling
 * (passport bearer strategy: API key or access token; secure by default unless `@Public()`),
 * may they (scopes), how often (rate limit, with the `RateLimit-*` headers; `429` over the
 * limit, `503` when Redis cannot be asked). One guard rather than three: each Nest guard is an
 * extra await and metadata lookup per request, and route metadata is read once per route.
 */
@Injectable()
export class ApiGuard extends BearerAuthGuard {
  private readonly access = new WeakMap<object, RouteAccess>();
  private readonly windowSeconds: number;

  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly limiter: SlidingWindowLimiter,
    private readonly requestIds: RequestIdSigner,
  ) {
    super();
    this.windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<ApiRequest>();
    if (!isApiRoute(req)) return true;
    const handler = context.getHandler();
    let access = this.access.get(handler);
    if (!access) {
      access = routeAccess(this.reflector, context);
      this.access.set(handler, access);
    }
    if (access.public) return true;

    await super.canActivate(context);
    const principal = req.user!;
    // From here on the request id is one the user can later prove is theirs.
    if (principal.user_id) req.id = this.requestIds.sign(principal.user_id);
    assertScopes(principal, access.scopes);

    let decision: Decision;
    try {
      decision = await this.limiter.take(
        bucketOf(principal),
        principal.rate_limit ?? this.config.RATE_LIMIT_DEFAULT,
      );
    } catch (err) {
      throw new DomainError('service_unavailable', 'Rate limiting is unavailable. Try again.', {
        cause: err,
      });
    }
    const reply = http.getResponse<FastifyReply>();
    void reply.headers(rateLimitHeaders(decision, this.windowSeconds));
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.resetSeconds));
      throw new DomainError(
        'rate_limited',
        `Rate limit of ${decision.limit} requests per ${this.windowSeconds} s exceeded. ` +
          `Retry after ${decision.resetSeconds} s.`,
      );
    }
    return true;
  }
}
