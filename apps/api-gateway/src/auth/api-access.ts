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
import {
  assertScopes,
  BearerStrategy,
  bearerToken,
  Principal,
  RouteAccess,
  UNAUTHENTICATED_MESSAGE,
} from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { hookList } from '@cap/observability';
import { CONFIG, GatewayConfig } from '../config';
import { API_ROUTES, ApiRoute } from '../routes';
import { bucketOf, setRateLimitHeaders } from '../rate-limit/rate-limit-headers';
import { Decision, SlidingWindowLimiter } from '../rate-limit/sliding-window.limiter';
import { RequestIdSigner } from '../request-ids';
import { UsageMetering } from '../usage/usage-metering';
import { AuthFailureLimiter } from './auth-failures';
import { BearerPrincipalResolver } from './principal-resolver.service';

type ApiRequest = FastifyRequest & { user?: Principal };
type Done = (err?: Error) => void;

const unauthenticated = () => new DomainError('unauthenticated', UNAUTHENTICATED_MESSAGE);

/**
 * The gateway's data plane, on every `/v1` route: who is calling (API key or access token;
 * secure by default unless `@Public()`), may they (scopes), how often (rate limit, with the
 * `RateLimit-*` headers; `429` over the limit, `503` when Redis cannot be asked), and, once the
 * response is out, metering.
 *
 * It runs as Fastify hooks attached to each `/v1` route as Nest registers it, not as a Nest
 * guard: each route's access rules are bound once, at startup, and a request with a cached
 * credential and a leased permit is decided without a promise, a metadata lookup or any I/O.
 * (a guard would add an await chain and per-request context objects; README.md, "Performance",
 * has the measured per-request costs). A `/v1` route with no `@ApiDoc` declaration stops the app at
 * startup rather than being served unguarded.
 *
 * Credentials are checked by the `@nestjs/passport` bearer strategy (`validate`) whenever this
 * process does not know the answer already; the RFC 6750 header is parsed by `bearerToken`,
 * since passport's per-request middleware assembly is the cost this avoids.
 */
@Injectable()
export class ApiAccess {
  private readonly windowSeconds: number;

  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    @Inject(API_ROUTES) routes: readonly ApiRoute[],
    private readonly resolver: BearerPrincipalResolver,
    private readonly bearer: BearerStrategy,
    private readonly limiter: SlidingWindowLimiter,
    private readonly requestIds: RequestIdSigner,
    private readonly metering: UsageMetering,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.windowSeconds = Math.round(config.RATE_LIMIT_WINDOW_MS / 1000);
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
      throw new Error(`${method} ${route.url} is served but not declared in API_CONTROLLERS`);
    }
    // A public route has no caller to check, limit or count.
    if (declaration.public) return;
    const endpoint = `${String(route.method)} ${route.url}`;
    route.onRequest = [...hookList(route.onRequest), this.onRequest(declaration)];
    const meter: onResponseHookHandler = (request, reply, done) => {
      const { user } = request as ApiRequest;
      if (user) this.metering.record(request, user, reply.statusCode, endpoint);
      done();
    };
    route.onResponse = [...hookList(route.onResponse), meter];
  }

  private onRequest(access: RouteAccess): onRequestHookHandler {
    return (request, reply, done) => {
      const req = request as ApiRequest;
      const token = bearerToken(req.headers.authorization);
      if (!token) return done(unauthenticated());
      let known: Principal | null | undefined;
      try {
        known = this.resolver.resolveKnown(token);
      } catch (err) {
        return done(err as Error);
      }
      if (known) return this.admit(req, reply, access, known, done);
      // Not a credential this process knows to be valid: a guess until shown otherwise, limited
      // per client address before anything is looked up (`request.ip` honours TRUST_PROXY).
      const ip = req.ip;
      const wait = this.failures.take(ip);
      if (wait) {
        // A key valid here until its entry aged out is not a guess: clients behind the same
        // address (a NAT) as a guesser keep working.
        if (known === null || !this.resolver.wasRecentlyValid(token)) {
          this.failures.throttled();
          return this.throttled(reply, wait, done);
        }
        this.failures.takeAnyway(ip);
      }
      if (known === null) {
        this.failures.settle(ip, true);
        return done(unauthenticated());
      }
      this.bearer.validate(token).then(
        (principal) => {
          this.failures.settle(ip, !principal);
          this.admit(req, reply, access, principal || null, done);
        },
        (err: unknown) => {
          // A refused access token throws; a check that could not be made is no failure.
          this.failures.settle(ip, err instanceof DomainError && err.code === 'invalid_token');
          done(err as Error);
        },
      );
    };
  }

  private throttled(reply: FastifyReply, seconds: number, done: Done): void {
    void reply.header('retry-after', String(seconds));
    done(
      new DomainError(
        'rate_limited',
        `Too many failed authentications from this address. Retry after ${seconds} s.`,
      ),
    );
  }

  private admit(
    req: ApiRequest,
    reply: FastifyReply,
    access: RouteAccess,
    principal: Principal | null,
    done: Done,
  ): void {
    if (!principal) return done(unauthenticated());
    req.user = principal;
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
    const bucket = bucketOf(principal);
    const limit = principal.rate_limit ?? this.config.RATE_LIMIT_DEFAULT;
    const decided = this.limiter.tryTake(bucket, limit);
    if (decided) return this.limit(reply, decided, done);
    this.limiter.take(bucket, limit).then(
      (decision) => this.limit(reply, decision, done),
      (err: unknown) =>
        done(
          new DomainError('service_unavailable', 'Rate limiting is unavailable. Try again.', {
            cause: err,
          }),
        ),
    );
  }

  private limit(reply: FastifyReply, decision: Decision, done: Done): void {
    setRateLimitHeaders(reply, decision, this.windowSeconds);
    if (decision.allowed) return done();
    void reply.header('retry-after', String(decision.resetSeconds));
    done(
      new DomainError(
        'rate_limited',
        `Rate limit of ${decision.limit} requests per ${this.windowSeconds} s exceeded. ` +
          `Retry after ${decision.resetSeconds} s.`,
      ),
    );
  }
}
