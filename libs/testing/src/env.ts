import { randomBytes } from 'node:crypto';

/** Where tests find Postgres and Redis (this machine kind runs both on 127.0.0.1). */
export const TEST_ENV = {
  adminDatabaseUrl:
    process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};

/** A fresh queue and channel prefix, so test files never see each other's jobs. */
export function testQueuePrefix(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}
