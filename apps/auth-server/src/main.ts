import 'reflect-metadata';
import { runApp } from '@cap/observability';
import { AppModule } from './app.module';
import { authServerEnv } from './config';

runApp({
  name: 'auth-server',
  env: authServerEnv,
  module: (config, logger) => AppModule.forRoot(config, logger),
});
