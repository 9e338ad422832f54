import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, EventBus, pingRedis, redisTarget } from '@cap/queue';
import { CONFIG, ProjectsServiceConfig } from './config';
import { Database, databaseProvider, pingDb } from '@cap/db';
import { GrantRevocationsListener } from './keys/grant-revocations.listener';
import { InvitationsRepository } from './invitations/invitations.repository';
import { InvitationsService } from './invitations/invitations.service';
import { KeysRepository } from './keys/keys.repository';
import { KeysService } from './keys/keys.service';
import { MembersRepository } from './members/members.repository';
import { MembersService } from './members/members.service';
import { ProjectsRepository } from './projects/projects.repository';
import { ProjectsService } from './projects/projects.service';
import { RegionsRepository } from './regions/regions.repository';
import { ProjectsAdminRpcServer, ProjectsRpcServer } from './rpc/projects-rpc.server';
import { TicketsRepository } from './tickets/tickets.repository';
import { TicketsService } from './tickets/tickets.service';
import { LOGGER } from './tokens';

const REDIS = Symbol('REDIS');

@Module({})
export class AppModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: ReturnType<typeof createRedis>,
    private readonly events: EventBus,
  ) {}

  static forRoot(config: ProjectsServiceConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS, useFactory: () => createRedis(redisTarget(config)) },
        {
          provide: EventBus,
          useFactory: () => new EventBus(redisTarget(config), config.QUEUE_PREFIX),
        },
        databaseProvider({ url: config.DATABASE_URL, poolMax: config.DB_POOL_MAX }),
        RegionsRepository,
        ProjectsRepository,
        KeysRepository,
        MembersRepository,
        InvitationsRepository,
        TicketsRepository,
        ProjectsService,
        KeysService,
        MembersService,
        InvitationsService,
        TicketsService,
        ProjectsRpcServer,
        GrantRevocationsListener,
        ProjectsAdminRpcServer,
        {
          provide: READINESS_CHECKS,
          inject: [Database, REDIS, ProjectsRpcServer, ProjectsAdminRpcServer],
          useFactory: (
            db: Database,
            redis: ReturnType<typeof createRedis>,
            rpc: ProjectsRpcServer,
            admin: ProjectsAdminRpcServer,
          ): ReadinessCheck[] => [
            { name: 'postgres', check: () => pingDb(db.client) },
            { name: 'redis', check: () => pingRedis(redis) },
            { name: 'queue', check: async () => rpc.running && admin.running },
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
