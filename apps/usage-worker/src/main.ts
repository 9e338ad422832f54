import 'reflect-metadata';
import { runApp } from '@cap/observability';
import { AppModule } from './app.module';
import { usageWorkerEnv } from './config';

runApp({
  name: 'usage-worker',
  env: usageWorkerEnv,
  module: (config, logger) => AppModule.forRoot(config, logger),
});
