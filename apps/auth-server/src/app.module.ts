import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, pingRedis } from '@cap/queue';
import { AuthServerConfig, CONFIG, LOGGER } from './config';
import { Database, databaseProvider, pingDb } from '@cap/db';
import { ClientsRepository } from './clients/clients.repository';
import { ClientsService } from './clients/clients.service';
import { IdentityRpcServer } from './rpc/identity-rpc.server';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

const REDIS = Symbol('REDIS');

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: ReturnType<typeof createRedis>) {}

  static forRoot(config: AuthServerConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS, useFactory: () => createRedis(config.REDIS_URL) },
        databaseProvider({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }),
        UsersRepository,
        UsersService,
        ClientsRepository,
        ClientsService,
        IdentityRpcServer,
        {
          provide: READINESS_CHECKS,
          inject: [Database, REDIS, IdentityRpcServer],
          useFactory: (
            db: Database,
            redis: ReturnType<typeof createRedis>,
            rpc: IdentityRpcServer,
          ): ReadinessCheck[] => [
            { name: 'postgres', check: () => pingDb(db.client) },
            { name: 'redis', check: () => pingRedis(redis) },
            { name: 'queue', check: async () => rpc.running },
          ],
        },
      ],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
