import type { Server as HttpsServer } from 'node:https';
import { DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { loadConfigOrExit, orExitOnConfigError } from '@cap/config';
import { createHttpApp } from './http-app';
import { Lifecycle } from './lifecycle';
import { createLogger } from './logger';
import { Metrics } from './metrics';
import { readTlsFiles, reloadTlsOnChange } from './tls';

interface AppEnv {
  NODE_ENV: 'development' | 'production' | 'test';
  PORT: number;
  HOST: string;
  LOG_LEVEL: Parameters<typeof createLogger>[1];
  SHUTDOWN_DRAIN_MS?: number;
  SHUTDOWN_GRACE_MS: number;
  TRUST_PROXY?: false | number | string[];
  TLS_CERT_FILE?: string;
  TLS_KEY_FILE?: string;
  /** Set (with a default) by the public apps' `publicHttpEnv`: they send HSTS. */
  HSTS_MAX_AGE_S?: number;
}

/**
 * The whole `main.ts` of an app: validate the environment (exit 1 on a bad one), create the
 * logger and the Nest app, listen (HTTPS with TLS_CERT_FILE and TLS_KEY_FILE, re-read every
 * minute so a renewed certificate is served without a restart; an unreadable or invalid file at
 * start also exits 1 at once). SIGTERM and SIGINT drain the app: `/readyz` turns 503 at
 * once, requests are still served for SHUTDOWN_DRAIN_MS (so load balancers stop sending them),
 * then the app closes (in-flight requests finish, the gateway flushes its usage, queue workers
 * finish their current job, connections close) and the process exits 0, or 1 past
 * SHUTDOWN_GRACE_MS.
 */
export function runApp<S extends z.ZodType<AppEnv>>(options: {
  name: string;
  env: S;
  module: (config: Readonly<z.infer<S>>, logger: Logger) => DynamicModule;
}): void {
  const config = loadConfigOrExit(options.env, options.name);
  const logger = createLogger(options.name, config.LOG_LEVEL);
  const lifecycle = new Lifecycle();
  const drainMs = config.SHUTDOWN_DRAIN_MS ?? (config.NODE_ENV === 'production' ? 5_000 : 0);
  // Unreadable or invalid files: one line and exit 1, as for a bad environment.
  const tls = orExitOnConfigError(options.name, () => readTlsFiles(config));
  if (tls && tls.notAfter.getTime() < Date.now()) {
    logger.warn({ not_after: tls.notAfter.toISOString() }, 'the TLS certificate has expired');
  }
  const http = {
    trustProxy: config.TRUST_PROXY,
    https: tls && { cert: tls.cert, key: tls.key },
    hstsMaxAgeS: config.HSTS_MAX_AGE_S,
  };
  createHttpApp(options.module(config, logger), logger, new Metrics(options.name), http, lifecycle)
    .then(async (app) => {
      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        lifecycle.beginDrain();
        logger.info({ signal, drain_ms: drainMs }, `${options.name} draining`);
        if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
        logger.info(`${options.name} stopping`);
        // Past the grace period a stuck connection must not keep the process alive.
        setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS).unref();
        await app.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, `${options.name} did not stop cleanly`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', (signal) => void stop(signal));
      process.once('SIGINT', (signal) => void stop(signal));
      await app.listen(config.PORT, config.HOST);
      if (tls) {
        // With `https` options Fastify's server is an https.Server (Nest types it as http's).
        const server = app.getHttpServer() as unknown as HttpsServer;
        const stopReloading = reloadTlsOnChange(server, config, tls, logger);
        process.once('SIGTERM', stopReloading).once('SIGINT', stopReloading);
      }
      logger.info(
        { host: config.HOST, port: config.PORT, scheme: tls ? 'https' : 'http' },
        `${options.name} listening`,
      );
    })
    .catch((err: unknown) => {
      logger.fatal({ err }, `${options.name} failed to start`);
      process.exit(1);
    });
}
