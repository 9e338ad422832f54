import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';
import type { ErrorCode } from '@cap/contracts';

export const API_DOC = 'cap:api-doc';

/**
 * What the OpenAPI document says of a route, next to the route itself. Its inputs (path, query,
 * body) are not named here: the route table reads them from the parameters' `ZodPipe`s.
 */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Example request body (the seed's, where it has one). */
  bodyExample?: unknown;
  response: { status: number; schema: z.ZodType; description: string; example?: unknown };
  /** Errors this route can answer besides the ones every route can (auth, limits, 5xx). */
  errors?: ErrorCode[];
}

export const ApiDoc = (doc: RouteDoc) => SetMetadata(API_DOC, doc);
