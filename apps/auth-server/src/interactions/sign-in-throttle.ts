import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { execOrThrow } from '@cap/queue';
import { AuthServerConfig, CONFIG } from '../config';
import { OAUTH_REDIS } from '../oauth/tokens';

/**
 * Failed sign-ins counted per account and per client address in Redis, each count expiring
 * SIGNIN_WINDOW_S after its first failure. Past either limit, sign-in is refused (even with the
 * right password) until the window ends: guessing stays slow, for one account and across many.
 */
@Injectable()
export class SignInThrottle {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(OAUTH_REDIS) private readonly redis: Redis,
  ) {}

  private accountKey(email: string): string {
    const id = hash('sha256', email, 'base64url');
    return `${this.config.QUEUE_PREFIX}:signin:account:${id}`;
  }

  private ipKey(ip: string): string {
    return `${this.config.QUEUE_PREFIX}:signin:ip:${ip}`;
  }

  /** Seconds to wait before trying again, or 0 when a sign-in may be attempted now. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const [account, address] = [this.accountKey(email), this.ipKey(ip)];
    const [accountFailures, ipFailures] = await this.redis.mget(account, address);
    const waits: Array<Promise<number>> = [];
    if (Number(accountFailures) >= this.config.SIGNIN_MAX_FAILURES_PER_ACCOUNT) {
      waits.push(this.redis.ttl(account));
    }
    if (Number(ipFailures) >= this.config.SIGNIN_MAX_FAILURES_PER_IP) {
      waits.push(this.redis.ttl(address));
    }
    const ttls = await Promise.all(waits);
    return ttls.length ? Math.max(1, ...ttls) : 0;
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const window = this.config.SIGNIN_WINDOW_S;
    const [account, address] = [this.accountKey(email), this.ipKey(ip)];
    await execOrThrow(
      this.redis
        .multi()
        .incr(account)
        .expire(account, window, 'NX')
        .incr(address)
        .expire(address, window, 'NX'),
    );
  }

  /** A successful sign-in clears the account's count (not the address's). */
  async recordSuccess(email: string): Promise<void> {
    await this.redis.del(this.accountKey(email));
  }
}
