import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { IdentityJobs, ProjectsJobs, QUEUES } from '@cap/contracts';
import { RpcClient } from '@cap/queue';
import { CONFIG, GatewayConfig } from '../config';

/** The gateway's request/reply clients of the services behind the queues. */
@Injectable()
export class Upstream implements OnApplicationShutdown {
  readonly projects: RpcClient<ProjectsJobs>;
  readonly identity: RpcClient<IdentityJobs>;

  constructor(@Inject(CONFIG) config: GatewayConfig) {
    const common = {
      prefix: config.QUEUE_PREFIX,
      redisUrl: config.REDIS_URL,
      timeoutMs: config.RPC_TIMEOUT_MS,
    };
    this.projects = new RpcClient<ProjectsJobs>({ queue: QUEUES.projects, ...common });
    this.identity = new RpcClient<IdentityJobs>({ queue: QUEUES.identity, ...common });
  }

  async ready(): Promise<void> {
    await Promise.all([this.projects.ready(), this.identity.ready()]);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.projects.close(), this.identity.close()]);
  }
}
