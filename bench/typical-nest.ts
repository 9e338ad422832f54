/**
 * What a NestJS team would write for an authenticated, rate-limited, metered API without this
 * platform, used by two baselines of `npm run bench`: the "typical gateway"
 * (`typical-gateway.ts`) and the "monolith" (`monolith.ts`).
 *
 * Per request, the libraries' documented way: `@UseGuards(AuthGuard('bearer'), ...)` with a
 * `passport-http-bearer` strategy (the key looked up by its SHA-256, cached in the process),
 * `@nestjs/throttler`'s guard with its Redis storage (`@nest-lab/throttler-storage-redis`, one
 * Lua call per request) keyed by the API key, and a usage counter per request (`HINCRBY`, from
 * an interceptor). Nest on Fastify, no logging, as the platform is measured.
 */
import 'reflect-metadata';
import { hash } from 'node:crypto';
import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Module,
  NestInterceptor,
  Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { PassportModule, PassportStrategy } from '@nestjs/passport';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import { Strategy } from 'passport-http-bearer';
import { tap } from 'rxjs';

/** The caller a valid key stands for. */
export interface KeyCaller {
  keyId: string;
  userId: string;
  projectId: string;
}

/** Looks a key up by the SHA-256 of its secret; `null` when it is not one. */
export type KeyLookup = (secretHash: string) => Promise<KeyCaller | null>;

const KEY_LOOKUP = Symbol('KEY_LOOKUP');
const CACHE_MS = 60_000;

@Injectable()
class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  private readonly cache = new Map<string, { caller: KeyCaller; until: number }>();

  constructor(@Inject(KEY_LOOKUP) private readonly lookup: KeyLookup) {
    super();
  }

  async validate(token: string): Promise<KeyCaller | false> {
    const digest = hash('sha256', token, 'hex');
    const hit = this.cache.get(digest);
    if (hit && hit.until > Date.now()) return hit.caller;
    const caller = await this.lookup(digest);
    if (!caller) return false;
    this.cache.set(digest, { caller, until: Date.now() + CACHE_MS });
    return caller;
  }
}

/** The throttler's bucket is the API key, not the client address. */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve((req.user as KeyCaller).keyId);
  }
}

/** One `HINCRBY` per request: the usage a team would count in Redis. */
@Injectable()
export class UsageInterceptor implements NestInterceptor {
  constructor(private readonly redis: Redis) {}

  intercept(context: ExecutionContext, next: CallHandler) {
    const req = context
      .switchToHttp()
      .getRequest<{ user: KeyCaller; routeOptions: { url: string } }>();
    return next.handle().pipe(
      tap(() => {
        const minute = Math.floor(Date.now() / 60_000);
        void this.redis.hincrby(
          `bench-usage:${process.pid}:${req.user.projectId}:${minute}`,
          `${req.user.keyId}|${req.routeOptions.url}`,
          1,
        );
      }),
    );
  }
}

/** Starts `controller` under the typical stack on 127.0.0.1:`PORT` and prints its address. */
export async function serveTypical(controller: Type, lookup: KeyLookup): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  @Module({
    imports: [
      PassportModule,
      ThrottlerModule.forRoot({
        // High enough that the load measures limiting, not 429s, as for the platform's key.
        throttlers: [{ ttl: 60_000, limit: 100_000_000 }],
        storage: new ThrottlerStorageRedisService(redisUrl),
      }),
    ],
    controllers: [controller],
    providers: [
      { provide: KEY_LOOKUP, useValue: lookup },
      { provide: Redis, useFactory: () => new Redis(redisUrl) },
      BearerStrategy,
    ],
  })
  class TypicalModule {}

  const app = await NestFactory.create<NestFastifyApplication>(
    TypicalModule,
    new FastifyAdapter(),
    {
      logger: false,
      abortOnError: false,
    },
  );
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`${await app.getUrl()}\n`);
}
