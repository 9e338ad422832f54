import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onResponseHookHandler,
  RouteOptions,
} from 'fastify';
import { assertScopes, Principal, RouteAccess } from '@cap/auth';
import { hookList } from '@cap/observability';
import { API_ROUTES, ApiRoute } from '../routes';
import { Admit, Credentials, Done } from './credential';
import { RateLimit } from './limit';
import { UsageMeter } from './meter';
import { RequestIdSigner } from './request-ids';

type ApiRequest = FastifyRequest & { user?: Principal };

/**
 * The gateway's data plane, on every `/v1` route the route table (`../routes.ts`) declares, in
 * this order:
 *
 * 1. **credential** (`credential.ts`): who is calling — API key or access token; every route is
 *    authenticated unless `@Public()`;
 * 2. **scopes**: may they — the route's `@RequireScopes`, `403 insufficient_scope`; and from
 *    here the request id is signed for the caller (`request-ids.ts`);
 * 3. **limit** (`limit.ts`): how often — the rate limit and its headers;
 * 4. **meter** (`meter.ts`): once the response is out, one count for the usage API.
 *
 * It runs as Fastify hooks attached to each `/v1` route as Nest registers it, not as a Nest
 * guard: each route's rules are bound once, at startup, and a request with a cached credential
 * and a leased permit is decided without a promise, a metadata lookup or any I/O. A `/v1` route
 * missing from the route table stops the app at startup rather than being served unguarded.
 */
@Injectable()
export class DataPlane {
  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(API_ROUTES) routes: readonly ApiRoute[],
    private readonly credentials: Credentials,
    private readonly requestIds: RequestIdSigner,
    private readonly rateLimit: RateLimit,
    private readonly meter: UsageMeter,
  ) {
    // Nest registers its routes when the app initialises, after providers are constructed.
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Declared up front, so setting it keeps every request object the same shape.
    fastify.decorateRequest('user', null);
    const declared = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
    fastify.addHook('onRoute', (route) => this.attach(route, declared));
  }

  private attach(route: RouteOptions, declared: Map<string, ApiRoute>): void {
    if (!route.url.startsWith('/v1/')) return;
    const method = String(route.method) === 'HEAD' ? 'GET' : String(route.method);
    const declaration = declared.get(`${method} ${route.url}`);
    if (!declaration) {
      throw new Error(
        `${method} ${route.url} is served but not declared in the route table (routes.ts)`,
      );
    }
    // A public route has no caller to check, limit or count.
    if (declaration.public) return;
    const endpoint = `${String(route.method)} ${route.url}`;
    route.onRequest = [...hookList(route.onRequest), this.onRequest(declaration)];
    const meter: onResponseHookHandler = (request, reply, done) => {
      const { user } = request as ApiRequest;
      if (user) this.meter.record(request, user, reply.statusCode, endpoint);
      done();
    };
    route.onResponse = [...hookList(route.onResponse), meter];
  }

  private onRequest(access: RouteAccess): onRequestHookHandler {
    const admit: Admit = (req, reply, principal, done) =>
      this.admit(req, reply, access, principal, done);
    return (request, reply, done) => this.credentials.identify(request, reply, done, admit);
  }

  private admit(
    req: FastifyRequest,
    reply: FastifyReply,
    access: RouteAccess,
    principal: Principal,
    done: Done,
  ): void {
    (req as ApiRequest).user = principal;
    // From here on the request id is one the user can later prove is theirs.
    if (principal.user_id) {
      req.id = this.requestIds.sign(principal.user_id, req.id);
      void reply.header('request-id', req.id);
    }
    try {
      assertScopes(principal, access.scopes);
    } catch (err) {
      return done(err as Error);
    }
    this.rateLimit.take(principal, reply, done);
  }
}
