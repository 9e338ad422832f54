import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { QUEUES, UsageJobs } from '@cap/contracts';
import { Metrics } from '@cap/observability';
import { RpcServer, rpcServerOptions } from '@cap/queue';
import { CONFIG, LOGGER, UsageWorkerConfig } from '../config';
import { UsageQueryService } from './usage-query.service';

/** Serves usage queries from the gateway. */
@Injectable()
export class UsageRpcServer extends RpcServer<UsageJobs> {
  constructor(
    @Inject(CONFIG) config: UsageWorkerConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
    queries: UsageQueryService,
  ) {
    super(rpcServerOptions(QUEUES.usageQueries, config, logger, metrics), {
      'usage.query': (p) => queries.query(p),
    });
  }
}
