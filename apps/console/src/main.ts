import 'reflect-metadata';
import { loadConfigOrExit } from '@cap/config';
import { createLogger, runApp } from '@cap/observability';
import { ConsoleModule } from './app.module';
import { consoleEnv } from './config';
import { checkRedirectAtStart } from './redirect-check';

const config = loadConfigOrExit(consoleEnv, 'console');
void checkRedirectAtStart(config, createLogger('console', config.LOG_LEVEL)).then((ok) => {
  if (!ok) process.exit(1);
  runApp({
    name: 'console',
    env: consoleEnv,
    module: (c, logger) => ConsoleModule.forRoot(c, logger),
  });
});
