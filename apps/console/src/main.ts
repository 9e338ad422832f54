import { Redis } from 'ioredis';
import { loadConfigOrExit } from '@cap/config';
import { consoleEnv } from './config';
import { buildServer } from './server';

async function main() {
  const config = loadConfigOrExit(consoleEnv, 'console');
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  redis.on('error', () => undefined);
  const app = buildServer(config, redis);
  await app.listen({ port: config.PORT, host: config.HOST });
  const stop = () => {
    void app.close().then(() => {
      redis.disconnect();
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
