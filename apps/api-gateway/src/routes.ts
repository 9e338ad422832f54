import type { FastifyRequest } from 'fastify';
import type { DocumentedRoute } from './openapi/openapi.builder';

/** Routes of the public API, as opposed to health and metrics. */
export function isApiRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.url ?? req.url).startsWith('/v1/');
}

/** Every `/v1` route the controllers declare, with its access rules and documentation. */
export type ApiRoute = DocumentedRoute;
export const API_ROUTES = Symbol('API_ROUTES');
