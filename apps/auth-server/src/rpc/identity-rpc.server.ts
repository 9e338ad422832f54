import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { IdentityJobs, QUEUES } from '@cap/contracts';
import { RpcServer } from '@cap/queue';
import { AuthServerConfig, CONFIG, LOGGER } from '../config';
import { ClientsService } from '../clients/clients.service';
import { UsersService } from '../users/users.service';

/** Serves the `identity` queue: users and OAuth clients, for the gateway and the admin CLI. */
@Injectable()
export class IdentityRpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: RpcServer<IdentityJobs>;

  constructor(
    @Inject(CONFIG) config: AuthServerConfig,
    @Inject(LOGGER) logger: Logger,
    users: UsersService,
    clients: ClientsService,
  ) {
    this.server = new RpcServer<IdentityJobs>(
      {
        queue: QUEUES.identity,
        prefix: config.QUEUE_PREFIX,
        redisUrl: config.REDIS_URL,
        onUnexpectedError: (err, job) => logger.error({ err, job }, 'job failed'),
      },
      {
        'users.create': (p) => users.create(p),
        'users.find-by-email': (p) => users.findByEmail(p),
        'users.get': (p) => users.get(p),
        'clients.create': (p) => clients.create(p),
        'clients.list': (p) => clients.list(p),
      },
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.start();
  }

  get running(): boolean {
    return this.server.running;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.close();
  }
}
