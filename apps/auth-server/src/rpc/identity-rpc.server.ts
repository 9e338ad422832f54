import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { IdentityAdminJobs, IdentityPublicJobs, QUEUES } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { RpcServer, rpcServerOptions } from '@cap/queue';
import { AuthServerConfig, CONFIG, LOGGER } from '../config';
import { ClientsService } from '../clients/clients.service';
import { UsersService } from '../users/users.service';

/** Serves the `identity` queue: users and OAuth clients, for the gateway and the admin CLI. */
@Injectable()
export class IdentityRpcServer extends RpcServer<IdentityPublicJobs> {
  constructor(
    @Inject(CONFIG) config: AuthServerConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
    users: UsersService,
    clients: ClientsService,
  ) {
    super(rpcServerOptions(QUEUES.identity, config, logger, metrics), {
      'users.find-by-email': (p) => users.findByEmail(p),
      'users.get': (p) => users.get(p),
      'clients.create': (p) => clients.create(p),
      'clients.list': (p) => clients.list(p),
    });
  }
}

/**
 * Serves the `admin-identity` queue: the operator's `admin.` jobs (creating users and clients
 * for anyone), which only the admin CLI's Redis user can add.
 */
@Injectable()
export class IdentityAdminRpcServer extends RpcServer<IdentityAdminJobs> {
  constructor(
    @Inject(CONFIG) config: AuthServerConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
    users: UsersService,
    clients: ClientsService,
  ) {
    super(rpcServerOptions(QUEUES.adminIdentity, config, logger, metrics, 2), {
      // The operator vouches for the address: operator-made users are verified.
      'admin.users.create': (p) => users.createVerified(p),
      'admin.clients.create': (p) => clients.create(p, p.first_party === true),
    });
  }
}
