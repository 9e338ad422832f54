import type { Principal } from '@cap/auth';
import type { Decision } from './sliding-window.limiter';

/** The bucket a request is counted in: per API key, or per OAuth client and user. */
export function bucketOf(principal: Principal): string {
  return principal.kind === 'api_key'
    ? `key:${principal.key_id}`
    : `oauth:${principal.client_id}:${principal.user_id ?? '-'}`;
}

/** The IETF draft's `RateLimit-*` headers and the older `X-RateLimit-*` trio. */
export function rateLimitHeaders(d: Decision, windowSeconds: number): Record<string, string> {
  const limit = String(d.limit);
  const remaining = String(d.remaining);
  return {
    'ratelimit-limit': limit,
    'ratelimit-remaining': remaining,
    'ratelimit-reset': String(d.resetSeconds),
    'ratelimit-policy': `${limit};w=${windowSeconds}`,
    'x-ratelimit-limit': limit,
    'x-ratelimit-remaining': remaining,
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + d.resetSeconds),
  };
}
