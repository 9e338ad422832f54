import type { DocumentedRoute } from './openapi/openapi.builder';

/** Every `/v1` route the controllers declare, with its access rules and documentation. */
export type ApiRoute = DocumentedRoute;
export const API_ROUTES = Symbol('API_ROUTES');
