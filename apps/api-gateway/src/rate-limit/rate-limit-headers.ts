import type { FastifyReply } from 'fastify';
import type { Principal } from '@cap/auth';
import type { Decision } from './sliding-window.limiter';

/** The bucket a request is counted in: per API key, or per OAuth client and user. */
export function bucketOf(principal: Principal): string {
  return principal.kind === 'api_key'
    ? `key:${principal.key_id}`
    : `oauth:${principal.client_id}:${principal.user_id ?? '-'}`;
}

/**
 * The rate-limit fields of draft-ietf-httpapi-ratelimit-headers-10 (Structured Fields: the
 * policy's quota `q` and window `w`, then the remaining `r` and the seconds `t` until a request
 * is freed) and the widely used `X-RateLimit-*` trio, whose reset is a Unix time. The older
 * draft's separate `RateLimit-Limit/-Remaining/-Reset` are not sent.
 */
export function setRateLimitHeaders(reply: FastifyReply, d: Decision, windowSeconds: number): void {
  const limit = String(d.limit);
  const remaining = String(d.remaining);
  void reply
    .header('ratelimit-policy', `"default";q=${limit};w=${windowSeconds}`)
    .header('ratelimit', `"default";r=${remaining};t=${d.resetSeconds}`)
    .header('x-ratelimit-limit', limit)
    .header('x-ratelimit-remaining', remaining)
    .header('x-ratelimit-reset', String(Math.ceil(Date.now() / 1000) + d.resetSeconds));
}
