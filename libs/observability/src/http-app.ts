import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AllErrorsFilter } from './exception-filter';
import { fastifyOptions, installHttpContract } from './http';
import { PinoNestLogger } from './logger';

/**
 * Creates a Nest app on Fastify with the platform's HTTP contract installed: request ids,
 * access log, the one error filter. The caller decides when to `listen` and how to stop.
 */
export async function createHttpApp(
  module: Type<unknown> | DynamicModule,
  logger: Logger,
): Promise<NestFastifyApplication> {
  // No Nest middleware anywhere: without middie, no request pays for a middleware chain.
  const adapter = new FastifyAdapter({ ...fastifyOptions(logger), skipMiddie: true });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new PinoNestLogger(logger),
    bufferLogs: false,
    // Fastify's own JSON parser only: no form or text bodies reach a handler by accident.
    bodyParser: false,
  });
  installHttpContract(app.getHttpAdapter().getInstance(), logger);
  app.useGlobalFilters(new AllErrorsFilter(logger));
  return app;
}
