import type { FastifyRequest } from 'fastify';

/** Routes of the public API, as opposed to health and metrics. */
export function isApiRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.url ?? req.url).startsWith('/v1/');
}
