import { ErrorCode, httpStatusOf, isErrorCode } from './error-codes';

/** The serialisable part of a domain error: what crosses queues and reaches clients. */
export interface ErrorShape {
  code: ErrorCode;
  message: string;
  param?: string;
}

/** The wire form of every non-2xx `/v1` response. */
export interface ErrorBody {
  error: ErrorShape & { request_id: string };
}

/**
 * The one error class of the platform. Services throw it; the exception filter turns it into
 * the error object, and the queue carries its shape from a service back to the gateway.
 */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly param?: string;

  constructor(code: ErrorCode, message: string, options: { param?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.param = options.param;
  }

  get status(): number {
    return httpStatusOf(this.code);
  }

  toShape(): ErrorShape {
    return this.param === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, param: this.param };
  }

  static fromShape(shape: ErrorShape): DomainError {
    const code = isErrorCode(shape.code) ? shape.code : 'internal_error';
    return new DomainError(code, shape.message, { param: shape.param });
  }
}

/**
 * A project the actor cannot see, answered exactly like one that does not exist, so that ids of
 * other tenants cannot be probed.
 */
export function projectNotFound(projectId: string): DomainError {
  return new DomainError('project_not_found', `No project ${projectId} is visible to this key.`, {
    param: 'project_id',
  });
}
