import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { QUEUES, UsageJobs } from '@cap/contracts';
import { RpcServer } from '@cap/queue';
import { CONFIG, LOGGER, UsageWorkerConfig } from '../config';
import { UsageQueryService } from './usage-query.service';

/** Serves usage queries from the gateway. */
@Injectable()
export class UsageRpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly server: RpcServer<UsageJobs>;

  constructor(
    @Inject(CONFIG) config: UsageWorkerConfig,
    @Inject(LOGGER) logger: Logger,
    queries: UsageQueryService,
  ) {
    this.server = new RpcServer<UsageJobs>(
      {
        queue: QUEUES.usageQueries,
        prefix: config.QUEUE_PREFIX,
        redisUrl: config.REDIS_URL,
        onUnexpectedError: (err, job) => logger.error({ err, job }, 'job failed'),
      },
      { 'usage.query': (p) => queries.query(p) },
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
