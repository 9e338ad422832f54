import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuthServerConfig, CONFIG } from '../config';
import { OAUTH_REDIS } from '../oauth/tokens';
import { page, PageResult } from '../pages/page-response';
import { errorPage } from '../pages/views';
import type { RedisClient } from '@cap/queue';

/**
 * Sign-up forms sent per client address: SIGNUP_MAX_PER_IP within SIGNUP_WINDOW_S, counted in
 * Redis as each form arrives (before it is checked, so sending many at once gains nothing).
 */
@Injectable()
export class SignUpThrottle {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(OAUTH_REDIS) private readonly redis: RedisClient,
  ) {}

  /** Counts one sign-up from `ip`: undefined when it may go on, else the 429 page to answer. */
  async attempt(ip: string): Promise<PageResult | undefined> {
    const key = `${this.config.QUEUE_PREFIX}:signup:ip:${hash('sha256', ip, 'base64url')}`;
    const results = await this.redis
      .multi()
      .incr(key)
      .expire(key, this.config.SIGNUP_WINDOW_S, 'NX')
      .ttl(key)
      .exec();
    if (!results) throw new Error('redis transaction aborted');
    for (const [err] of results) if (err) throw err;
    const [count, , ttl] = results.map(([, v]) => Number(v));
    if (count <= this.config.SIGNUP_MAX_PER_IP) return undefined;
    const wait = Math.max(1, ttl);
    const minutes = Math.ceil(wait / 60);
    return page(
      errorPage({
        title: 'Too many sign-ups',
        message:
          `Too many accounts were created from this network recently. ` +
          `Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      }),
      429,
      { 'Retry-After': String(wait) },
    );
  }
}
