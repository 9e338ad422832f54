import type { FastifyReply } from 'fastify';
import type { Principal } from '@cap/auth';
import type { Decision } from './sliding-window.limiter';

/** The bucket a request is counted in: per API key, or per OAuth client and user. */
export function bucketOf(principal: Principal): string {
  return principal.kind === 'api_key'
    ? `key:${principal.key_id}`
    : `oauth:${principal.client_id}:${principal.user_id ?? '-'}`;
}

/** The IETF draft's `RateLimit-*` headers and the older `X-RateLimit-*` trio. */
export function setRateLimitHeaders(reply: FastifyReply, d: Decision, windowSeconds: number): void {
  const limit = String(d.limit);
  const remaining = String(d.remaining);
  const reset = String(d.resetSeconds);
  void reply
    .header('ratelimit-limit', limit)
    .header('ratelimit-remaining', remaining)
    .header('ratelimit-reset', reset)
    .header('ratelimit-policy', `${limit};w=${windowSeconds}`)
    .header('x-ratelimit-limit', limit)
    .header('x-ratelimit-remaining', remaining)
    .header('x-ratelimit-reset', String(Math.ceil(Date.now() / 1000) + d.resetSeconds));
}
