/**
 * The route table: every `/v1` route of the public API, read once at startup from the
 * controllers' decorators (`@Get`/`@Post`…, `@ApiDoc`, `@RequireScopes`/`@Public`,
 * `@Idempotent`). The data plane attaches its hooks from it (`data-plane/data-plane.ts`), the
 * OpenAPI document is built from it (`openapi/openapi.builder.ts`), and the SDKs are generated
 * from that document.
 */
import { RequestMethod, Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { z } from 'zod';
import { noBody } from '@cap/contracts';
import { routeAccess } from '@cap/auth';
import { IDEMPOTENT } from './idempotency/idempotent.decorator';
import { API_DOC, RouteDoc } from './openapi/api-doc.decorator';
import { ZodPipe } from './validation/zod.pipe';
import {
  InvitationsController,
  ProjectInvitationsController,
} from './invitations/invitations.controller';
import { KeysController } from './keys/keys.controller';
import { MembersController } from './members/members.controller';
import { OAuthClientsController } from './oauth-clients/oauth-clients.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { ProjectsController } from './projects/projects.controller';
import { RegionsController } from './regions/regions.controller';
import { TicketsController } from './support/tickets.controller';
import { UsageController } from './usage/usage.controller';
import { UserController } from './user/user.controller';

/** Every controller of the public API: registered by the app, documented by OpenAPI. */
export const API_CONTROLLERS = [
  ProjectsController,
  MembersController,
  ProjectInvitationsController,
  InvitationsController,
  KeysController,
  RegionsController,
  UsageController,
  UserController,
  TicketsController,
  OAuthClientsController,
  OpenApiController,
];

/** A `/v1` route: its method and path, what it requires of a caller, and its documentation. */
export interface ApiRoute {
  method: string;
  /** Nest/Fastify form: `/v1/projects/:id`. */
  path: string;
  doc: RouteDoc;
  /** The schemas its inputs are validated against (`ZodPipe`), documented as they are. */
  input: RouteInput;
  scopes: string[];
  public: boolean;
}

/**
 * Every `/v1` route of the given controllers, read from their decorators; a route without
 * `@ApiDoc`, or a POST without `@Idempotent()`, is an error at startup.
 */
export function collectRoutes(controllers: Type<unknown>[]): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined) continue;
      const sub = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
      const path = `/${[base, sub].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
      if (!path.startsWith('/v1/')) continue;
      const doc = Reflect.getMetadata(API_DOC, handler) as RouteDoc | undefined;
      const verb = RequestMethod[method];
      if (!doc) throw new Error(`${verb} ${path} (${controller.name}.${name}) has no @ApiDoc`);
      if (verb === 'POST' && Reflect.getMetadata(IDEMPOTENT, handler) !== true) {
        throw new Error(`POST ${path} (${controller.name}.${name}) is not @Idempotent()`);
      }
      const access = routeAccess(handler, controller);
      const input = inputsOf(controller, name, `${verb} ${path} (${controller.name}.${name})`);
      routes.push({
        method: verb,
        path,
        doc,
        input,
        scopes: [...access.scopes],
        public: access.public,
      });
    }
  }
  return routes;
}

export interface RouteInput {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}

const INPUTS: Partial<Record<RouteParamtypes, keyof RouteInput>> = {
  [RouteParamtypes.PARAM]: 'params',
  [RouteParamtypes.QUERY]: 'query',
  [RouteParamtypes.BODY]: 'body',
};

interface RouteArg {
  index: number;
  data?: unknown;
  pipes?: unknown[];
}

/**
 * The schemas of a handler's `@Param`/`@Query`/`@Body(new ZodPipe(schema))` arguments. An input
 * argument without a `ZodPipe`, or a named one (`@Query('x')`), is refused: every input is
 * validated whole, against the schema the document shows. `noBody` (a POST that takes none) is
 * validated but not documented.
 */
function inputsOf(controller: Type<unknown>, name: string, where: string): RouteInput {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<
    string,
    RouteArg
  >;
  const input: RouteInput = {};
  for (const [key, arg] of Object.entries(args)) {
    const slot = INPUTS[Number(key.split(':')[0]) as RouteParamtypes];
    if (!slot) continue;
    const pipe = arg.pipes?.find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe);
    if (!pipe || arg.data !== undefined) {
      throw new Error(`${where}: its ${slot} must be one argument validated by a ZodPipe`);
    }
    if (pipe.schema !== noBody) input[slot] = pipe.schema;
  }
  return input;
}

/** The route table of this app (`API_CONTROLLERS`), as the `API_ROUTES` provider holds it. */
export const API_ROUTES = Symbol('API_ROUTES');
