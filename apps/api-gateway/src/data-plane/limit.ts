import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { bucketOf, Principal } from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { CONFIG, GatewayConfig } from '../config';
import { Decision, SlidingWindowLimiter } from './sliding-window.limiter';

/**
 * Step 3 of the data plane: how often. One permit per request from the principal's bucket
 * (`bucketOf`), decided from this replica's lease without I/O when it can be
 * (`SlidingWindowLimiter`); the rate-limit headers on every answer; `429` with `Retry-After`
 * over the limit, `503` when Redis cannot be asked.
 */
@Injectable()
export class RateLimit {
  private readonly windowSeconds: number;

  constructor(
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly limiter: SlidingWindowLimiter,
  ) {
    this.windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000);
  }

  take(principal: Principal, reply: FastifyReply, done: (err?: Error) => void): void {
    const bucket = bucketOf(principal);
    const limit = principal.rate_limit ?? this.config.RATE_LIMIT_DEFAULT;
    const decided = this.limiter.tryTake(bucket, limit);
    if (decided) return this.answer(reply, decided, done);
    this.limiter.take(bucket, limit).then(
      (decision) => this.answer(reply, decision, done),
      (err: unknown) =>
        done(
          new DomainError('service_unavailable', 'Rate limiting is unavailable. Try again.', {
            cause: err,
          }),
        ),
    );
  }

  private answer(reply: FastifyReply, decision: Decision, done: (err?: Error) => void): void {
    setRateLimitHeaders(reply, decision, this.windowSeconds);
    if (decision.allowed) return done();
    void reply.header('retry-after', String(decision.resetSeconds));
    done(
      new DomainError(
        'rate_limited',
        `Rate limit of ${decision.limit} requests per ${this.windowSeconds} s exceeded. ` +
          `Retry after ${decision.resetSeconds} s.`,
      ),
    );
  }
}

/**
 * The rate-limit fields of draft-ietf-httpapi-ratelimit-headers-10 (Structured Fields: the
 * policy's quota `q` and window `w`, then the remaining `r` and the seconds `t` until a request
 * is freed) and the widely used `X-RateLimit-*` trio, whose reset is a Unix time. The older
 * draft's separate `RateLimit-Limit/-Remaining/-Reset` are not sent.
 */
function setRateLimitHeaders(reply: FastifyReply, d: Decision, windowSeconds: number): void {
  const limit = String(d.limit);
  const remaining = String(d.remaining);
  void reply
    .header('ratelimit-policy', `"default";q=${limit};w=${windowSeconds}`)
    .header('ratelimit', `"default";r=${remaining};t=${d.resetSeconds}`)
    .header('x-ratelimit-limit', limit)
    .header('x-ratelimit-remaining', remaining)
    .header('x-ratelimit-reset', String(Math.ceil(Date.now() / 1000) + d.resetSeconds));
}
