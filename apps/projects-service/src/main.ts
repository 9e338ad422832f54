import 'reflect-metadata';
import { runApp } from '@cap/observability';
import { AppModule } from './app.module';
import { projectsServiceEnv } from './config';

runApp({
  name: 'projects-service',
  env: projectsServiceEnv,
  module: (config, logger) => AppModule.forRoot(config, logger),
});
