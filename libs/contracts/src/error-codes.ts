/**
 * The stable error codes of the public API, shared with the SDKs. Adding a code means adding
 * its HTTP status below; the exhaustive switch makes the compiler insist on it.
 */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_json',
  'unsupported_media_type',
  'payload_too_large',
  'unauthenticated',
  'invalid_token',
  'insufficient_scope',
  'forbidden',
  'not_found',
  'route_not_found',
  'method_not_allowed',
  'project_not_found',
  'key_not_found',
  'user_not_found',
  'conflict',
  /** A documented cap was reached (keys per project, OAuth clients per user). */
  'quota_exceeded',
  'idempotency_key_in_use',
  'idempotency_key_reused',
  'rate_limited',
  'internal_error',
  'upstream_timeout',
  'service_unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each error code: one table, used by the one exception filter. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
    case 'invalid_json':
      return 400;
    case 'unauthenticated':
    case 'invalid_token':
      return 401;
    case 'insufficient_scope':
    case 'forbidden':
      return 403;
    case 'not_found':
    case 'route_not_found':
    case 'project_not_found':
    case 'key_not_found':
    case 'user_not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'conflict':
    case 'quota_exceeded':
    case 'idempotency_key_in_use':
      return 409;
    case 'idempotency_key_reused':
      return 422;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'rate_limited':
      return 429;
    case 'internal_error':
      return 500;
    case 'service_unavailable':
    case 'upstream_timeout':
      return 503;
    default: {
      const unreachable: never = code;
      throw new Error(`unknown error code ${String(unreachable)}`);
    }
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
