/**
 * The official JavaScript/TypeScript SDK of the Cloud API Platform.
 *
 * ```ts
 * import { CloudApi, ApiError } from '@cloud-api/sdk';
 * const api = new CloudApi({ apiKey: process.env.API_KEY });
 * const project = await api.projects.create({ name: 'edge-ingest', region: 'us-east' });
 * ```
 */
export { CloudApi } from './client.js';
export type { ClientOptions, RequestOptions, ResponseInfo, RetryEvent } from './core.js';
export { DEFAULTS, VERSION, isRetryable, retryDelayMs } from './core.js';
export {
  ApiConnectionError,
  ApiError,
  AuthenticationError,
  ConflictError,
  IdempotencyError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
} from './errors.js';
export type { ApiErrorInit, ErrorBody } from './errors.js';
export { ERROR_CODES, HTTP_STATUS_OF_CODE } from './error-codes.js';
export type { ErrorCode } from './error-codes.js';
export { OAuth, OAuthError, pkceChallenge } from './oauth.js';
export type { OAuthOptions, TokenSet } from './oauth.js';
export { PagePromise } from './pagination.js';
export type { Page } from './pagination.js';
export { parseRateLimit, parseRetryAfter } from './rate-limit.js';
export type { RateLimitState } from './rate-limit.js';
export { ALL_OPERATIONS, RESOURCE_METHODS } from './resources.js';
export type { BodyOf, ItemOf, OperationName, PathOf, QueryOf, ResultOf } from './resources.js';
export type { PendingOperations } from './pending.js';
export { PENDING_FIELDS, PENDING_OPERATIONS } from './pending.js';
export type * from './openapi-types.js';
export { OPERATIONS } from './openapi-types.js';
