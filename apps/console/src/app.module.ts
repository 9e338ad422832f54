import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HealthController, READINESS_CHECKS, ReadinessCheck } from '@cap/observability';
import { createRedis, pingRedis, RedisClient, redisTarget } from '@cap/queue';
import type { ConsoleConfig } from './config';
import { consolePages } from './server';

const CONFIG = Symbol('CONSOLE_CONFIG');
const LOGGER = Symbol('CONSOLE_LOGGER');
const REDIS = Symbol('CONSOLE_REDIS');

/**
 * Mounts the console's pages (a Fastify plugin of their own, with its form parser, HTML errors
 * and not-found page) on the app's Fastify instance, beside the platform's `/healthz`, `/readyz`
 * and `/metrics`, its request ids and access log.
 */
@Injectable()
class ConsolePages implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(CONFIG) private readonly config: ConsoleConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  async onModuleInit(): Promise<void> {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    await fastify.register(consolePages, {
      config: this.config,
      redis: this.redis,
      logger: this.logger,
    });
  }
}

@Module({})
export class ConsoleModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  static forRoot(config: ConsoleConfig, logger: Logger): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        // Request-path Redis: a command fails after two retries rather than waiting forever.
        {
          provide: REDIS,
          useFactory: () => createRedis(redisTarget(config), { maxRetriesPerRequest: 2 }),
        },
        ConsolePages,
        {
          provide: READINESS_CHECKS,
          inject: [REDIS],
          useFactory: (redis: RedisClient): ReadinessCheck[] => [
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
