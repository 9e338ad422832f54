import 'reflect-metadata';
import { runApp } from '@cap/observability';
import { AppModule } from './app.module';
import { gatewayEnv } from './config';

runApp({
  name: 'api-gateway',
  env: gatewayEnv,
  module: (config, logger) => AppModule.forRoot(config, logger),
});
