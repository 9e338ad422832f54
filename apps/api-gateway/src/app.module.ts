import { randomBytes } from 'node:crypto';
import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { BearerStrategy, PRINCIPAL_RESOLVER } from '@cap/auth';
import { HealthController, Metrics, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, EventBus, pingRedis, RedisClient, redisTarget } from '@cap/queue';
import { Credentials } from './data-plane/credential';
import { DataPlane } from './data-plane/data-plane';
import { RateLimit } from './data-plane/limit';
import { AuthFailureLimiter } from './data-plane/auth-failures';
import { KeyUsage } from './data-plane/key-usage';
import { BearerPrincipalResolver } from './data-plane/principal-resolver';
import { TokenVerifier } from './data-plane/token-verifier';
import { CONFIG, GatewayConfig, LOGGER } from './config';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencySeal } from './idempotency/idempotency-seal';
import { IdempotencyStore } from './idempotency/idempotency.store';
import { KeysService } from './keys/keys.service';
import { SlidingWindowLimiter } from './data-plane/sliding-window.limiter';
import { RegionsService } from './regions/regions.service';
import { RequestIdSigner } from './data-plane/request-ids';
import { buildOpenApi, OPENAPI_DOCUMENT } from './openapi/openapi.builder';
import { API_CONTROLLERS, API_ROUTES, ApiRoute, collectRoutes } from './routes';
import { Upstream } from './upstream/upstream';
import { UsageMeter } from './data-plane/meter';
import { UsageService } from './usage/usage.service';

/** Commands on this connection fail at once while Redis is away: the gateway answers 503. */
const HOT_REDIS = Symbol('HOT_REDIS');

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(HOT_REDIS) private readonly redis: RedisClient,
    private readonly events: EventBus,
    private readonly limiter: SlidingWindowLimiter,
    private readonly tokens: TokenVerifier,
  ) {}

  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    // Signs request ids and seals idempotency records; every replica needs the same one.
    const gatewaySecret = config.REQUEST_ID_SECRET
      ? Buffer.from(config.REQUEST_ID_SECRET, 'utf8')
      : randomBytes(32);
    return {
      module: AppModule,
      controllers: [HealthController, ...API_CONTROLLERS],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: HOT_REDIS,
          useFactory: () =>
            createRedis(redisTarget(config), {
              maxRetriesPerRequest: 0,
              enableOfflineQueue: false,
            }),
        },
        {
          provide: EventBus,
          useFactory: () => new EventBus(redisTarget(config), config.QUEUE_PREFIX),
        },
        {
          provide: Upstream,
          useFactory: async () => {
            const upstream = new Upstream(config);
            await upstream.ready();
            return upstream;
          },
        },
        {
          provide: SlidingWindowLimiter,
          inject: [HOT_REDIS, Metrics],
          useFactory: (redis: RedisClient, metrics: Metrics) => {
            const leases = metrics.counter({
              name: 'gateway_rate_limit_leases_total',
              help:
                'Leases of permits asked of Redis, by outcome (granted, denied: the window is ' +
                'full, unavailable: Redis did not answer and requests got 503).',
              labelNames: ['outcome'],
            });
            return new SlidingWindowLimiter(redis, config.QUEUE_PREFIX, {
              windowMs: config.RATE_LIMIT_WINDOW_MS,
              leaseFraction: config.RATE_LIMIT_LEASE_FRACTION,
              leaseTtlMs: config.RATE_LIMIT_LEASE_TTL_MS,
              onLease: (outcome) => leases.inc({ outcome }),
            });
          },
        },
        {
          provide: TokenVerifier,
          inject: [HOT_REDIS],
          useFactory: (redis: RedisClient) =>
            new TokenVerifier(redis, {
              issuer: config.OAUTH_ISSUER,
              audience: config.OAUTH_AUDIENCE,
              jwksUrl:
                config.OAUTH_JWKS_URL ?? `${config.OAUTH_ISSUER.replace(/\/$/, '')}/oauth/jwks`,
              prefix: config.QUEUE_PREFIX,
              cacheMax: config.TOKEN_CACHE_MAX,
              maxLifetimeS: config.ACCESS_TOKEN_MAX_LIFETIME_S,
              jwksRefreshMs: config.JWKS_REFRESH_MS,
            }),
        },
        {
          provide: AuthFailureLimiter,
          inject: [HOT_REDIS, Metrics],
          useFactory: (redis: RedisClient, metrics: Metrics) => {
            const throttled = metrics.counter({
              name: 'gateway_auth_throttled_total',
              help:
                'Requests refused (429) before any lookup because their client address made ' +
                'too many failed authentications (AUTH_FAILURES_PER_MINUTE).',
            });
            return new AuthFailureLimiter(redis, {
              budget: config.AUTH_FAILURES_PER_MINUTE,
              windowMs: 60_000,
              prefix: config.QUEUE_PREFIX,
              onThrottled: () => throttled.inc(),
            });
          },
        },
        BearerPrincipalResolver,
        { provide: PRINCIPAL_RESOLVER, useExisting: BearerPrincipalResolver },
        // Registers passport's bearer strategy; Credentials authenticates first sights through it.
        BearerStrategy,
        { provide: RequestIdSigner, useFactory: () => new RequestIdSigner(gatewaySecret) },
        { provide: IdempotencySeal, useFactory: () => new IdempotencySeal(gatewaySecret) },
        {
          provide: IdempotencyStore,
          inject: [HOT_REDIS],
          useFactory: (redis: RedisClient) =>
            new IdempotencyStore(redis, { runningTtlMs: 60_000, keepMs: 24 * 3_600_000 }),
        },
        KeyUsage,
        { provide: API_ROUTES, useFactory: () => collectRoutes(API_CONTROLLERS) },
        {
          provide: OPENAPI_DOCUMENT,
          inject: [API_ROUTES],
          useFactory: (routes: ApiRoute[]) => buildOpenApi(routes, config.PUBLIC_URL ?? '/'),
        },
        // Every /v1 route: who is calling, may they, how often; then metering.
        Credentials,
        RateLimit,
        DataPlane,
        // POST routes carry @Idempotent(): run once and replay per Idempotency-Key.
        IdempotencyInterceptor,
        RegionsService,
        KeysService,
        UsageService,
        UsageMeter,
        {
          provide: READINESS_CHECKS,
          inject: [HOT_REDIS],
          useFactory: (redis: RedisClient): ReadinessCheck[] => [
            { name: 'redis', check: () => pingRedis(redis) },
          ],
        },
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
    this.tokens.close();
    await this.events.close();
    this.redis.disconnect();
  }
}
