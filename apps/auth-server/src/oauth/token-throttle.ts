import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { execOrThrow, RedisClient } from '@cap/queue';
import { AuthServerConfig, CONFIG } from '../config';
import { OAUTH_REDIS } from './tokens';

const WINDOW_MS = 60_000;

/**
 * The token endpoint's budget per client: TOKEN_REQUESTS_PER_MINUTE over a sliding minute (the
 * weighted estimate over this minute and the last), shared by every auth-server through Redis.
 *
 * Buckets: a confidential client's authenticated requests count per client; a public client's
 * (no secret: anyone may name it) per client and address; and a request whose client failed
 * to authenticate counts per claimed client and address too, so guessing a secret or flooding
 * with bad ones is bounded, while naming a victim client spends only the sender's own bucket,
 * never the victim's. A request is refused up front, by the client id it names and its
 * address, once either bucket is full; a refused request is not counted. When Redis cannot be
 * asked the answer is a refusal (fail closed), never an unlimited endpoint.
 */
@Injectable()
export class TokenThrottle {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(OAUTH_REDIS) private readonly redis: RedisClient,
  ) {}

  /** The key prefix of a bucket's windows (`<prefix><window>`). */
  private keyOf(bucket: string): string {
    const id = hash('sha256', bucket, 'base64url').slice(0, 22);
    return `${this.config.QUEUE_PREFIX}:token-rl:{${id}}:`;
  }

  /** Seconds until the client `clientId` names (from `ip`) may ask for a token again; 0 when it may now. */
  async retryAfter(clientId: string, ip: string, now = Date.now()): Promise<number> {
    const window = Math.floor(now / WINDOW_MS);
    const keys = [this.keyOf(clientId), this.keyOf(`${clientId} ${ip}`)];
    // One MGET per bucket: a bucket's windows share its hash tag (one Cluster slot), the two
    // buckets do not.
    const counts = (
      await Promise.all(keys.map((k) => this.redis.mget(`${k}${window - 1}`, `${k}${window}`)))
    )
      .flat()
      .map(Number);
    const limit = this.config.TOKEN_REQUESTS_PER_MINUTE;
    return Math.max(
      secondsUntilBelow(limit, counts[0], counts[1], now),
      secondsUntilBelow(limit, counts[2], counts[3], now),
    );
  }

  /**
   * One more request of a client oidc-provider authenticated, from `ip` (a public client counts
   * per address).
   */
  async count(clientId: string, isPublic: boolean, ip: string, now = Date.now()) {
    await this.countIn(isPublic ? `${clientId} ${ip}` : clientId, now);
  }

  /** One more request that named `claimedId` (maybe nothing: '') and failed to authenticate. */
  async countFailure(claimedId: string, ip: string, now = Date.now()) {
    await this.countIn(`${claimedId} ${ip}`, now);
  }

  private async countIn(bucket: string, now: number) {
    const key = `${this.keyOf(bucket)}${Math.floor(now / WINDOW_MS)}`;
    await execOrThrow(
      this.redis
        .multi()
        .incr(key)
        .pexpire(key, 2 * WINDOW_MS),
    );
  }
}

/**
 * The client a token request names: the Basic header's user (RFC 6749 §2.3.1, form-encoded),
 * else the form's `client_id`. Not authenticated: only for looking up its budget.
 */
export function claimedClientId(
  authorization: string | undefined,
  form: string | undefined,
): string | undefined {
  let id: string | null | undefined;
  if (authorization && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    id = colon > 0 ? decoded.slice(0, colon) : undefined;
    try {
      id = id && decodeURIComponent(id.replace(/\+/g, ' '));
    } catch {
      // Not form-encoded: oidc-provider will refuse it; its budget is looked up as sent.
    }
  } else if (form) {
    id = new URLSearchParams(form).get('client_id');
  }
  return id && id.length <= 255 ? id : undefined;
}

/**
 * With `previous` requests in the last fixed minute and `current` in this one, the sliding
 * estimate is previous × (share of the last minute still in the window) + current. Returns the
 * whole seconds after which it is below `limit` (0 if it is below now).
 */
export function secondsUntilBelow(
  limit: number,
  previous: number,
  current: number,
  now: number,
): number {
  const elapsed = (now % WINDOW_MS) / WINDOW_MS;
  if (previous * (1 - elapsed) + current < limit) return 0;
  let waitMs: number;
  if (current < limit) {
    // Within this minute, once enough of the last one has slid out.
    waitMs = (1 - (limit - current) / previous - elapsed) * WINDOW_MS;
  } else {
    // Next minute, once enough of this one has slid out.
    waitMs = (1 - elapsed + (1 - limit / current)) * WINDOW_MS;
  }
  // Whole seconds, strictly past the moment: a client that waits exactly this long gets in.
  return Math.floor(Math.max(0, waitMs) / 1000 + 1e-9) + 1;
}

/**
 * Whether a token response came after the client authenticated: oidc-provider names the client
 * before it checks the secret, and a failed check is `invalid_client` (or `invalid_request` for
 * malformed credentials).
 */
export function clientAuthenticated(status: number, body: unknown): boolean {
  if (status < 400) return true;
  const error = (body as { error?: unknown } | undefined)?.error;
  return error !== 'invalid_client' && error !== 'invalid_request';
}
