import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { Database, databaseProvider, pingDb } from '@cap/db';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, EventBus, pingRedis, RedisClient, redisTarget } from '@cap/queue';
import { ClientsRepository } from './clients/clients.repository';
import { ClientsService } from './clients/clients.service';
import { AuthServerConfig, CONFIG, LOGGER } from './config';
import { EmailVerificationController } from './email-verification/email-verification.controller';
import { EmailVerificationService } from './email-verification/email-verification.service';
import { InteractionsController } from './interactions/interactions.controller';
import { InteractionsService } from './interactions/interactions.service';
import { SignInThrottle } from './interactions/sign-in-throttle';
import { Mailer } from './mail/mailer';
import { GrantsRepository } from './oauth/grants.repository';
import { OAuthHousekeeping } from './oauth/oauth-housekeeping.service';
import { OAuthRoutes } from './oauth/oauth-routes';
import { OidcProviderService } from './oauth/oidc-provider.service';
import { TokenThrottle } from './oauth/token-throttle';
import { RedisArtifactStore } from './oauth/redis-artifacts.store';
import { TokenRevocationService } from './oauth/token-revocation.service';
import { OAUTH_REDIS, REDIS_ARTIFACTS } from './oauth/tokens';
import { Csrf } from './pages/csrf';
import { IdentityAdminRpcServer, IdentityRpcServer } from './rpc/identity-rpc.server';
import { SignUpController } from './sign-up/sign-up.controller';
import { SignUpService } from './sign-up/sign-up.service';
import { SignUpThrottle } from './sign-up/sign-up-throttle';
import { SigningKeysRepository } from './signing-keys/signing-keys.repository';
import { SigningKeysService } from './signing-keys/signing-keys.service';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(OAUTH_REDIS) private readonly redis: RedisClient,
    private readonly events: EventBus,
  ) {}

  static forRoot(config: AuthServerConfig, logger: Logger): DynamicModule {
    if (config.usesDevelopmentSecrets) {
      logger.warn(
        'COOKIE_SECRETS, KEY_ENCRYPTION_SECRET or EMAIL_VERIFICATION_SECRET is not set: ' +
          'using development secrets',
      );
    }
    if (!config.SMTP_URL && config.NODE_ENV === 'production') {
      logger.warn('SMTP_URL is not set: verification links are written to this log, not mailed');
    }
    return {
      module: AppModule,
      controllers: [
        HealthController,
        InteractionsController,
        SignUpController,
        EmailVerificationController,
      ],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        // Request-path Redis: a command fails after two retries rather than waiting forever.
        {
          provide: OAUTH_REDIS,
          useFactory: () => createRedis(redisTarget(config), { maxRetriesPerRequest: 2 }),
        },
        {
          provide: REDIS_ARTIFACTS,
          inject: [OAUTH_REDIS],
          useFactory: (redis: RedisClient) => new RedisArtifactStore(redis, config.QUEUE_PREFIX),
        },
        {
          provide: EventBus,
          useFactory: () => new EventBus(redisTarget(config), config.QUEUE_PREFIX),
        },
        databaseProvider({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }),
        {
          provide: Csrf,
          useFactory: () => new Csrf(config.COOKIE_SECRETS, config.ISSUER.startsWith('https:')),
        },
        {
          provide: SigningKeysService,
          inject: [SigningKeysRepository],
          useFactory: (keys: SigningKeysRepository) =>
            new SigningKeysService(keys, config.KEY_ENCRYPTION_SECRET),
        },
        UsersRepository,
        UsersService,
        ClientsRepository,
        ClientsService,
        GrantsRepository,
        SigningKeysRepository,
        TokenRevocationService,
        OidcProviderService,
        OAuthRoutes,
        TokenThrottle,
        OAuthHousekeeping,
        SignInThrottle,
        SignUpThrottle,
        InteractionsService,
        SignUpService,
        Mailer,
        EmailVerificationService,
        IdentityRpcServer,
        IdentityAdminRpcServer,
        {
          provide: READINESS_CHECKS,
          inject: [
            Database,
            OAUTH_REDIS,
            IdentityRpcServer,
            IdentityAdminRpcServer,
            OidcProviderService,
          ],
          useFactory: (
            db: Database,
            redis: RedisClient,
            rpc: IdentityRpcServer,
            admin: IdentityAdminRpcServer,
            oidc: OidcProviderService,
          ): ReadinessCheck[] => [
            { name: 'postgres', check: () => pingDb(db.client) },
            { name: 'redis', check: () => pingRedis(redis) },
            { name: 'queue', check: async () => rpc.running && admin.running },
            { name: 'oauth', check: async () => oidc.ready },
          ],
        },
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.events.close();
    this.redis.disconnect();
  }
}
