/**
 * Rotates the token signing key: adds a new key, which signs from now on, and retires the current
 * one, which stays in the JWKS until the tokens it signed have expired (ACCESS_TOKEN_TTL_S + 60 s).
 * Every auth-server replica switches at once (pub/sub), or within SIGNING_KEYS_REFRESH_S if it
 * missed the message. Prints the new kid and the retired ones as JSON.
 *
 *   node -r @swc-node/register apps/auth-server/src/signing-keys/rotate-signing-key.command.ts
 *   node dist/apps/auth-server/signing-keys/rotate-signing-key.command.js    (built, the image)
 *
 * with the auth-server's DATABASE_URL, REDIS_URL, QUEUE_PREFIX and KEY_ENCRYPTION_SECRET.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '@cap/config';
import { databaseProvider } from '@cap/db';
import { EventBus, redisTarget } from '@cap/queue';
import { rotateSigningKeyEnv } from '../config';
import { SigningKeysRepository } from './signing-keys.repository';
import { SIGNING_KEYS_CHANGED, SigningKeysService } from './signing-keys.service';

async function main(): Promise<void> {
  const env = loadConfigOrExit(rotateSigningKeyEnv, 'rotate-signing-key');

  @Module({
    providers: [
      databaseProvider({ url: env.DATABASE_URL, poolMax: 1 }),
      SigningKeysRepository,
      {
        provide: SigningKeysService,
        inject: [SigningKeysRepository],
        useFactory: (keys: SigningKeysRepository) =>
          new SigningKeysService(keys, env.KEY_ENCRYPTION_SECRET),
      },
    ],
  })
  class RotateSigningKeyModule {}

  const context = await NestFactory.createApplicationContext(RotateSigningKeyModule, {
    logger: false,
  });
  const events = new EventBus(redisTarget(env), env.QUEUE_PREFIX);
  try {
    const rotated = await context.get(SigningKeysService).rotate();
    await events.publish(SIGNING_KEYS_CHANGED, { v: 1, kid: rotated.kid });
    process.stdout.write(`${JSON.stringify(rotated, null, 2)}\n`);
  } finally {
    await events.close();
    await context.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`rotate-signing-key failed: ${String(err)}\n`);
  process.exit(1);
});
