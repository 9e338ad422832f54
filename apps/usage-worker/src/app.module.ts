import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { Database, databaseProvider, pingDb } from '@cap/db';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, pingRedis, redisTarget } from '@cap/queue';
import { CONFIG, LOGGER, UsageWorkerConfig } from './config';
import { UsageBatchProcessor } from './ingest/usage-batch.processor';
import { UsageQueryService } from './query/usage-query.service';
import { UsageRpcServer } from './query/usage-rpc.server';
import { UsageRepository } from './usage.repository';

const REDIS = Symbol('REDIS');

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: ReturnType<typeof createRedis>) {}

  static forRoot(config: UsageWorkerConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS, useFactory: () => createRedis(redisTarget(config)) },
        databaseProvider({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }),
        UsageRepository,
        UsageBatchProcessor,
        UsageQueryService,
        UsageRpcServer,
        {
          provide: READINESS_CHECKS,
          inject: [Database, REDIS, UsageBatchProcessor, UsageRpcServer],
          useFactory: (
            db: Database,
            redis: ReturnType<typeof createRedis>,
            batches: UsageBatchProcessor,
            queries: UsageRpcServer,
          ): ReadinessCheck[] => [
            { name: 'postgres', check: () => pingDb(db.client) },
            { name: 'redis', check: () => pingRedis(redis) },
            { name: 'queue', check: async () => batches.running && queries.running },
          ],
        },
      ],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
