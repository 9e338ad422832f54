import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { IdentityPublicJobs, ProjectsPublicJobs, QUEUES, UsageJobs } from '@cap/contracts';
import { RpcClient, redisTarget } from '@cap/queue';
import { CONFIG, GatewayConfig } from '../config';

/**
 * The gateway's request/reply clients of the services behind the public queues (never the
 * operator's: `admin.` jobs are not theirs to send).
 */
@Injectable()
export class Upstream implements OnApplicationShutdown {
  readonly projects: RpcClient<ProjectsPublicJobs>;
  readonly identity: RpcClient<IdentityPublicJobs>;
  readonly usage: RpcClient<UsageJobs>;

  constructor(@Inject(CONFIG) config: GatewayConfig) {
    const common = {
      prefix: config.QUEUE_PREFIX,
      redisUrl: redisTarget(config),
      timeoutMs: config.RPC_TIMEOUT_MS,
    };
    this.projects = new RpcClient<ProjectsPublicJobs>({ queue: QUEUES.projects, ...common });
    this.identity = new RpcClient<IdentityPublicJobs>({ queue: QUEUES.identity, ...common });
    this.usage = new RpcClient<UsageJobs>({ queue: QUEUES.usageQueries, ...common });
  }

  async ready(): Promise<void> {
    await Promise.all([this.projects.ready(), this.identity.ready(), this.usage.ready()]);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.projects.close(), this.identity.close(), this.usage.close()]);
  }
}
