import { HttpException } from '@nestjs/common';
import { DomainError, ErrorBody, ErrorCode, httpStatusOf } from '@cap/contracts';
import { randomBase62 } from '@cap/contracts';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Set for 5xx: the id under which the cause was logged. */
  errorId?: string;
}

interface FrameworkError {
  statusCode?: number;
  code?: string;
}

const FRAMEWORK_MESSAGES: Partial<Record<ErrorCode, string>> = {
  invalid_json: 'The request body is not valid JSON.',
  unsupported_media_type: 'Send the request body as application/json.',
  payload_too_large: 'The request body is larger than 1 MiB.',
  route_not_found: 'No such route. See /v1/openapi.json for the routes of this API.',
  method_not_allowed: 'This route does not accept that method.',
  invalid_request: 'The request is malformed.',
};

/** Maps anything thrown while serving a request to a domain error. */
export function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const status =
    err instanceof HttpException ? err.getStatus() : ((err as FrameworkError)?.statusCode ?? 500);
  // Nest re-wraps Fastify's own errors as HttpException, keeping only status and message.
  const fwCode = `${(err as FrameworkError)?.code ?? ''} ${(err as Error)?.message ?? ''}`;
  let code: ErrorCode;
  if (status === 404) code = 'route_not_found';
  else if (status === 405) code = 'method_not_allowed';
  else if (status === 413) code = 'payload_too_large';
  else if (status === 415) code = 'unsupported_media_type';
  else if (status === 400 && (err instanceof SyntaxError || fwCode.includes('JSON'))) {
    code = 'invalid_json';
  } else if (status >= 400 && status < 500) code = 'invalid_request';
  else return new DomainError('internal_error', 'An internal error occurred.', { cause: err });
  return new DomainError(code, FRAMEWORK_MESSAGES[code] ?? 'The request is malformed.', {
    cause: err,
  });
}

/**
 * The one place an error becomes a response: the status from the code table, the error object
 * with the request id, `WWW-Authenticate` on 401. 5xx bodies carry no detail of the cause.
 */
export function errorResponse(err: unknown, requestId: string): ErrorResponse {
  const domain = toDomainError(err);
  const status = httpStatusOf(domain.code);
  const headers: Record<string, string> = {};
  if (status === 401) {
    headers['www-authenticate'] =
      domain.code === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer';
  }
  if (domain.code === 'insufficient_scope') {
    headers['www-authenticate'] = 'Bearer error="insufficient_scope"';
  }
  const errorId = status >= 500 ? `err_${randomBase62(16)}` : undefined;
  const message =
    status >= 500 && domain.code === 'internal_error'
      ? `An internal error occurred (${errorId}). Quote the request id to support.`
      : domain.message;
  const body: ErrorBody = {
    error: {
      code: domain.code,
      message,
      request_id: requestId,
      ...(domain.param !== undefined ? { param: domain.param } : {}),
    },
  };
  return { status, body, headers, errorId };
}
