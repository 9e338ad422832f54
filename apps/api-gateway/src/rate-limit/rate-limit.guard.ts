import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { CONFIG, GatewayConfig } from '../config';
import { isApiRoute } from '../routes';
import { Decision, SlidingWindowLimiter } from './sliding-window.limiter';

/** The bucket a request is counted in: per API key, or per OAuth client and user. */
export function bucketOf(principal: Principal): string {
  return principal.kind === 'api_key'
    ? `key:${principal.key_id}`
    : `oauth:${principal.client_id}:${principal.user_id ?? '-'}`;
}

export function rateLimitHeaders(d: Decision, windowSeconds: number): Record<string, string> {
  return {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(d.resetSeconds),
    'ratelimit-policy': `${d.limit};w=${windowSeconds}`,
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + d.resetSeconds),
  };
}

/**
 * Runs after authentication on every `/v1` route: one permit per request from the caller's
 * bucket, the rate-limit headers on the response, `429 rate_limited` with `Retry-After` over the
 * limit, `503` when Redis cannot be asked.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly windowSeconds: number;

  constructor(
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly limiter: SlidingWindowLimiter,
  ) {
    this.windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest & { user?: Principal }>();
    if (!isApiRoute(req) || !req.user) return true;
    const limit = req.user.rate_limit ?? this.config.RATE_LIMIT_DEFAULT;
    let decision: Decision;
    try {
      decision = await this.limiter.take(bucketOf(req.user), limit);
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
