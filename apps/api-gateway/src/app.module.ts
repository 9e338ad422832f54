import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { PassportModule } from '@nestjs/passport';
import { BearerStrategy, PRINCIPAL_RESOLVER } from '@cap/auth';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, EventBus, pingRedis } from '@cap/queue';
import { KeyPrincipalResolver } from './auth/principal-resolver.service';
import { CONFIG, GatewayConfig } from './config';
import { KeysController } from './keys/keys.controller';
import { KeysService } from './keys/keys.service';
import { ProjectsController } from './projects/projects.controller';
import { RegionsController } from './regions/regions.controller';
import { RegionsService } from './regions/regions.service';
import { Upstream } from './upstream/upstream';

const REDIS = Symbol('REDIS');

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: ReturnType<typeof createRedis>,
    private readonly events: EventBus,
  ) {}

  static forRoot(config: GatewayConfig, _logger?: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [PassportModule.register({ session: false })],
      controllers: [HealthController, ProjectsController, KeysController, RegionsController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: REDIS, useFactory: () => createRedis(config.REDIS_URL) },
        {
          provide: EventBus,
          useFactory: () => new EventBus(config.REDIS_URL, config.QUEUE_PREFIX),
        },
        {
          provide: Upstream,
          useFactory: async () => {
            const upstream = new Upstream(config);
            await upstream.ready();
            return upstream;
          },
        },
        KeyPrincipalResolver,
        { provide: PRINCIPAL_RESOLVER, useExisting: KeyPrincipalResolver },
        BearerStrategy,
        RegionsService,
        KeysService,
        {
          provide: READINESS_CHECKS,
          inject: [REDIS],
          useFactory: (redis: ReturnType<typeof createRedis>): ReadinessCheck[] => [
            { name: 'redis', check: () => pingRedis(redis) },
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
