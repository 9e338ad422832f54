import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { execOrThrow, RedisClient } from '@cap/queue';
import { AuthServerConfig, CONFIG } from '../config';
import { OAUTH_REDIS } from '../oauth/tokens';

/**
 * Sign-in attempts counted in Redis per (account, client address) and per client address, each
 * count expiring SIGNIN_WINDOW_S after its first attempt.
 *
 * An attempt is counted before its password is checked, in one atomic step that also answers
 * whether it is within both budgets: of N attempts sent at once, only those within the budget
 * are checked at all. A successful sign-in gives its attempt back (the pair's count is cleared,
 * the address's decremented), so what stays counted are failures.
 *
 * There is no budget per account alone: then anyone could lock a user out by failing on their
 * email from elsewhere. Guessing one account is slow from each address (its pair budget), and
 * guessing many from one address is bounded by the larger address budget.
 */
@Injectable()
export class SignInThrottle {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(OAUTH_REDIS) private readonly redis: RedisClient,
  ) {}

  // Both counts of an address share its hash tag: one MULTI updates them (one Cluster slot).
  private pairKey(email: string, ip: string): string {
    const id = hash('sha256', `${email}\n${ip}`, 'base64url');
    return `${this.config.QUEUE_PREFIX}:signin:pair:{${hash('sha256', ip, 'base64url')}}:${id}`;
  }

  private ipKey(ip: string): string {
    return `${this.config.QUEUE_PREFIX}:signin:ip:{${hash('sha256', ip, 'base64url')}}`;
  }

  /**
   * Counts one attempt to sign in as `email` from `ip`. Returns 0 when it may be checked now, or
   * the seconds to wait (the attempt is then not checked; it still counts).
   */
  async attempt(email: string, ip: string): Promise<number> {
    const window = this.config.SIGNIN_WINDOW_S;
    const [pair, address] = [this.pairKey(email, ip), this.ipKey(ip)];
    const results = await this.redis
      .multi()
      .incr(pair)
      .expire(pair, window, 'NX')
      .incr(address)
      .expire(address, window, 'NX')
      .ttl(pair)
      .ttl(address)
      .exec();
    if (!results) throw new Error('redis transaction aborted');
    for (const [err] of results) if (err) throw err;
    const [pairCount, , ipCount, , pairTtl, ipTtl] = results.map(([, v]) => Number(v));
    const waits: number[] = [];
    if (pairCount > this.config.SIGNIN_MAX_FAILURES_PER_ACCOUNT) waits.push(pairTtl);
    if (ipCount > this.config.SIGNIN_MAX_FAILURES_PER_IP) waits.push(ipTtl);
    return waits.length ? Math.max(1, ...waits) : 0;
  }

  /** The attempt succeeded: it is given back, and the pair's earlier failures forgotten. */
  async succeeded(email: string, ip: string): Promise<void> {
    const address = this.ipKey(ip);
    // Had the count just expired, DECR leaves -1 for one window: one spare attempt, no more.
    await execOrThrow(
      this.redis
        .multi()
        .del(this.pairKey(email, ip))
        .decr(address)
        .expire(address, this.config.SIGNIN_WINDOW_S, 'NX'),
    );
  }
}
