import 'reflect-metadata';
import { runApp } from '@cap/observability';
import { AppModule } from './app.module';
import { gatewayEnv } from './config';

runApp({
  name: 'api-gateway',
  env: gatewayEnv,
  module: (config, logger) => AppModule.forRoot(config, logger),
  // `request.ip`, which the failed-authentication limit counts by, believes only these proxies.
  http: (config) => ({ trustProxy: config.TRUST_PROXY }),
});
