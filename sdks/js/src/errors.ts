import { ErrorCode } from './error-codes.js';
import { RateLimitState } from './rate-limit.js';

/** What the platform answers on every non-2xx response of `/v1`. */
export interface ErrorBody {
  error: { code: string; message: string; request_id?: string; param?: string };
}

/** Fields every {@link ApiError} is built from. */
export interface ApiErrorInit {
  status: number;
  code: ErrorCode | (string & {});
  message: string;
  requestId?: string;
  param?: string;
  headers?: Headers;
  /** Seconds from `Retry-After`, when the response carried one. */
  retryAfter?: number;
  rateLimit?: RateLimitState;
  cause?: unknown;
}

/**
 * An error answered by the platform (its error object: `code`, `message`, `request_id`,
 * `param`), or a request that got no answer ({@link ApiConnectionError}, status 0). Subclasses
 * name the families, so `instanceof NotFoundError` reads as well as `err.status === 404`.
 */
export class ApiError extends Error {
  /** The HTTP status; 0 when no response came. */
  readonly status: number;
  /** The stable error code (see `ERROR_CODES`); a newer platform may send a code not yet listed. */
  readonly code: ErrorCode | (string & {});
  /** The `Request-Id` of the failed request: quote it to support. */
  readonly requestId: string | undefined;
  /** The one input at fault, when there is one. */
  readonly param: string | undefined;
  readonly headers: Headers | undefined;
  /** Seconds the platform asked to wait (`Retry-After`), if it did. */
  readonly retryAfter: number | undefined;
  readonly rateLimit: RateLimitState | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.param = init.param;
    this.headers = init.headers;
    this.retryAfter = init.retryAfter;
    this.rateLimit = init.rateLimit;
  }

  /** The error for a platform response, of the subclass its status and code name. */
  static fromResponse(
    status: number,
    body: unknown,
    headers: Headers,
    extra: { retryAfter?: number; rateLimit?: RateLimitState } = {},
  ): ApiError {
    const error = isErrorBody(body) ? body.error : undefined;
    const init: ApiErrorInit = {
      status,
      code: error?.code ?? `http_${status}`,
      message: error?.message ?? `The platform answered HTTP ${status}.`,
      requestId: error?.request_id ?? headers.get('request-id') ?? undefined,
      param: error?.param,
      headers,
      ...extra,
    };
    const Class = errorClassOf(status, init.code);
    return new Class(init);
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  const error = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  return typeof error === 'object' && error !== null && typeof error.code === 'string';
}

/** `400`, `413`, `415`, `422` other than idempotency: the request itself is wrong. */
export class InvalidRequestError extends ApiError {}
/** `401`: no credential, or one that is unknown, revoked, expired or malformed. */
export class AuthenticationError extends ApiError {}
/** `403`: a visible resource, and a role or scope that does not allow the action. */
export class PermissionError extends ApiError {}
/** `404`: absent, or not visible to this credential (the platform never says which). */
export class NotFoundError extends ApiError {}
/** `409`: the request conflicts with the resource's state. */
export class ConflictError extends ApiError {}
/** `idempotency_key_in_use` (409, retried) and `idempotency_key_reused` (422, never retried). */
export class IdempotencyError extends ApiError {}
/** `429 rate_limited`: `retryAfter` says when to try again. */
export class RateLimitError extends ApiError {}
/** `5xx`. */
export class ServerError extends ApiError {}
/** No response: the connection failed or dropped, or the attempt timed out (`code: 'timeout'`). */
export class ApiConnectionError extends ApiError {}

function errorClassOf(status: number, code: string): new (init: ApiErrorInit) => ApiError {
  if (code === 'idempotency_key_in_use' || code === 'idempotency_key_reused') {
    return IdempotencyError;
  }
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return ServerError;
  if (status >= 400) return InvalidRequestError;
  return ApiError;
}
