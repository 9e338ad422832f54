import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { Database, databaseProvider, pingDb } from '@cap/db';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, pingRedis } from '@cap/queue';
import { UsageWorkerConfig } from './config';

const REDIS = Symbol('REDIS');

/**
 * The usage worker's shell: its database and Redis connections and health endpoints. Usage
 * ingestion and queries plug in here.
 */
@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: ReturnType<typeof createRedis>) {}

  static forRoot(config: UsageWorkerConfig, _logger?: Logger): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [
        { provide: REDIS, useFactory: () => createRedis(config.REDIS_URL) },
        databaseProvider({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }),
        {
          provide: READINESS_CHECKS,
          inject: [Database, REDIS],
          useFactory: (db: Database, redis: ReturnType<typeof createRedis>): ReadinessCheck[] => [
            { name: 'postgres', check: () => pingDb(db.client) },
            { name: 'redis', check: () => pingRedis(redis) },
          ],
        },
      ],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
