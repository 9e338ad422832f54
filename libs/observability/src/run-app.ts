import { DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigOrExit } from '@cap/config';
import { createHttpApp } from './http-app';
import { createLogger } from './logger';
import { Metrics } from './metrics';

const SHUTDOWN_GRACE_MS = 10_000;

interface AppEnv {
  PORT: number;
  HOST: string;
  LOG_LEVEL: Parameters<typeof createLogger>[1];
  TRUST_PROXY?: false | number | string[];
}

/**
 * The whole `main.ts` of an app: validate the environment (exit 1 on a bad one), create the
 * logger and the Nest app, listen. SIGTERM and SIGINT close the app (in-flight requests finish,
 * queue workers finish their jobs, connections close) and exit 0.
 */
export function runApp<S extends z.ZodType<AppEnv>>(options: {
  name: string;
  env: S;
  module: (config: Readonly<z.infer<S>>, logger: Logger) => DynamicModule;
}): void {
  const config = loadConfigOrExit(options.env, options.name);
  const logger = createLogger(options.name, config.LOG_LEVEL);
  createHttpApp(options.module(config, logger), logger, new Metrics(options.name), {
    trustProxy: config.TRUST_PROXY,
  })
    .then(async (app) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, `${options.name} stopping`);
        // Past the grace period a stuck connection must not keep the process alive.
        setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
        app.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, `${options.name} did not stop cleanly`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await app.listen(config.PORT, config.HOST);
      logger.info({ host: config.HOST, port: config.PORT }, `${options.name} listening`);
    })
    .catch((err: unknown) => {
      logger.fatal({ err }, `${options.name} failed to start`);
      process.exit(1);
    });
}
