/**
 * The rate-limit state of the last response, from `X-RateLimit-Limit/-Remaining/-Reset`
 * (preferred: reset is a Unix time) or else the IETF draft's `RateLimit-Policy` and
 * `RateLimit` (draft 10 Structured Fields, `"default";r=599;t=42`, or the older
 * `RateLimit-Limit/-Remaining/-Reset` fields with reset in seconds).
 */
export interface RateLimitState {
  /** Requests allowed per window. */
  limit: number | undefined;
  /** Requests left in the window. */
  remaining: number | undefined;
  /** Unix time (seconds) at which a request is freed. */
  reset: number | undefined;
  /** The window in seconds, when the policy names it. */
  window: number | undefined;
}

const int = (value: string | null | undefined): number | undefined => {
  if (value === null || value === undefined) return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** `name=value` parameters of a Structured Field item (`"default";r=599;t=42`, `600;w=60`). */
function fieldParams(header: string): { head: string; params: Map<string, string> } {
  // The first item of a list only: the first policy applies to this request.
  const first = header.split(',')[0] ?? '';
  const [head = '', ...rest] = first.split(';').map((s) => s.trim());
  const params = new Map<string, string>();
  for (const part of rest) {
    const i = part.indexOf('=');
    if (i > 0) params.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  return { head, params };
}

export function parseRateLimit(
  headers: Headers,
  nowSeconds = Date.now() / 1000,
): RateLimitState | undefined {
  let limit = int(headers.get('x-ratelimit-limit'));
  let remaining = int(headers.get('x-ratelimit-remaining'));
  let reset = int(headers.get('x-ratelimit-reset'));
  let window: number | undefined;

  const policy = headers.get('ratelimit-policy');
  if (policy) {
    const { head, params } = fieldParams(policy);
    window = int(params.get('w'));
    // Draft 10: `"name";q=600;w=60`; earlier drafts: `600;w=60`.
    limit ??= int(params.get('q')) ?? (head.startsWith('"') ? undefined : int(head));
  }
  const combined = headers.get('ratelimit');
  if (combined) {
    const { params } = fieldParams(combined);
    remaining ??= int(params.get('r'));
    const t = int(params.get('t'));
    if (reset === undefined && t !== undefined) reset = Math.ceil(nowSeconds + t);
  }
  limit ??= int(headers.get('ratelimit-limit'));
  remaining ??= int(headers.get('ratelimit-remaining'));
  const delta = int(headers.get('ratelimit-reset'));
  if (reset === undefined && delta !== undefined) reset = Math.ceil(nowSeconds + delta);

  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  return { limit, remaining, reset, window };
}

/** Seconds from `Retry-After` (delta seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - nowMs) / 1000);
}
