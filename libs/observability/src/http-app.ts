import { DynamicModule, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AllErrorsFilter } from './exception-filter';
import { fastifyOptions, HttpAppOptions, installHttpContract } from './http';
import { Lifecycle, LifecycleModule } from './lifecycle';
import { PinoNestLogger } from './logger';
import { Metrics, MetricsModule } from './metrics';
import { installHsts } from './tls';

/** The root of every app: the app's own module, and `Metrics` with `/metrics` for all of it. */
@Module({})
class AppRoot {}

/**
 * Creates a Nest app on Fastify with the platform's HTTP contract installed: request ids,
 * access log, metrics, the one error filter; over HTTPS with `options.https` (only: a
 * plain-HTTP request on that port gets no answer), HSTS with `options.hstsMaxAgeS`. The caller
 * decides when to `listen` and how to stop.
 */
export async function createHttpApp(
  module: Type<unknown> | DynamicModule,
  logger: Logger,
  metrics: Metrics,
  options: HttpAppOptions = {},
  lifecycle = new Lifecycle(),
): Promise<NestFastifyApplication> {
  const root: DynamicModule = {
    module: AppRoot,
    imports: [MetricsModule.forApp(metrics), LifecycleModule.forApp(lifecycle), module],
  };
  // No Nest middleware anywhere: without middie, no request pays for a middleware chain.
  const adapter = new FastifyAdapter({
    ...fastifyOptions(logger, options.trustProxy),
    ...(options.https ? { https: { cert: options.https.cert, key: options.https.key } } : {}),
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    logger: new PinoNestLogger(logger),
    bufferLogs: false,
    // Fastify's own JSON parser only: no form or text bodies reach a handler by accident.
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  installHttpContract(fastify, logger, metrics);
  // Only where a request can arrive over HTTPS (a TLS socket, or a trusted proxy saying so):
  // on plain HTTP with no trusted proxy the hook would run on every request and never send it.
  const httpsPossible = options.https !== undefined || (options.trustProxy ?? false) !== false;
  if (options.hstsMaxAgeS !== undefined && httpsPossible) {
    installHsts(fastify, options.hstsMaxAgeS);
  }
  app.useGlobalFilters(new AllErrorsFilter(logger));
  return app;
}
