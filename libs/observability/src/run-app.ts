import { DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigOrExit } from '@cap/config';
import { createHttpApp } from './http-app';
import { createLogger } from './logger';

interface AppEnv {
  PORT: number;
  HOST: string;
  LOG_LEVEL: Parameters<typeof createLogger>[1];
}

/**
 * The whole `main.ts` of an app: validate the environment (exit 1 on a bad one), create the
 * logger and the Nest app, listen. SIGTERM and SIGINT close it through Nest's shutdown hooks.
 */
export function runApp<S extends z.ZodType<AppEnv>>(options: {
  name: string;
  env: S;
  module: (config: Readonly<z.infer<S>>, logger: Logger) => DynamicModule;
}): void {
  const config = loadConfigOrExit(options.env, options.name);
  const logger = createLogger(options.name, config.LOG_LEVEL);
  createHttpApp(options.module(config, logger), logger)
    .then(async (app) => {
      await app.listen(config.PORT, config.HOST);
      logger.info({ host: config.HOST, port: config.PORT }, `${options.name} listening`);
    })
    .catch((err: unknown) => {
      logger.fatal({ err }, `${options.name} failed to start`);
      process.exit(1);
    });
}
