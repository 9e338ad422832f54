import { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { DomainError } from '@cap/contracts';

/** The first problem of a failed parse as `400 invalid_request`, naming the field at fault. */
export function toInvalidRequest(error: z.ZodError): DomainError {
  const issue = error.issues[0];
  if (!issue) return new DomainError('invalid_request', 'The request is invalid.');
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0]].join('.');
    return new DomainError('invalid_request', `Unknown field "${field}".`, { param: field });
  }
  if (issue.path.length === 0) {
    return new DomainError('invalid_request', 'The request body must be a JSON object.');
  }
  const param = issue.path.join('.');
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return new DomainError(
    'invalid_request',
    missing ? `Missing required parameter ${param}.` : `Invalid ${param}: ${issue.message}.`,
    { param },
  );
}

/**
 * Validates and types a body, query or params object against a contracts schema. The route table
 * reads `schema` back for the OpenAPI document: a route names each schema once, here.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    // `reportInput` tells a missing field (input undefined) from one of the wrong type.
    const parsed = this.schema.safeParse(value ?? undefined, { reportInput: true });
    if (!parsed.success) throw toInvalidRequest(parsed.error);
    return parsed.data;
  }
}
