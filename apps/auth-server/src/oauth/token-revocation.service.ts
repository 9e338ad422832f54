import { Inject, Injectable } from '@nestjs/common';
import { CHANNELS, REVOKED_TOKEN_KEYS, TokenRevokedEvent } from '@cap/contracts';
import { EventBus, RedisClient } from '@cap/queue';
import { AuthServerConfig, CONFIG } from '../config';
import { GrantsRepository } from './grants.repository';
import { RedisArtifactStore } from './redis-artifacts.store';
import { OAUTH_REDIS, REDIS_ARTIFACTS } from './tokens';

/**
 * Revocation, and telling the gateways about it. Access tokens are JWTs the gateway verifies on
 * its own, so a revoked one is marked in Redis (by `jti`, or its whole grant by `gid`) for as long
 * as such a token can live, and every gateway is told at once on `CHANNELS.tokenRevoked`.
 */
@Injectable()
export class TokenRevocationService {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(OAUTH_REDIS) private readonly redis: RedisClient,
    @Inject(REDIS_ARTIFACTS) private readonly artifacts: RedisArtifactStore,
    private readonly grants: GrantsRepository,
    private readonly events: EventBus,
  ) {}

  private key(suffix: string): string {
    return `${this.config.QUEUE_PREFIX}:${suffix}`;
  }

  /**
   * Revokes a grant and everything issued under it: its access tokens (marked), refresh tokens,
   * unused codes and the grant itself, which is never reused (a new consent makes a new one).
   */
  async revokeGrant(grantId: string): Promise<void> {
    // Marked first: if a delete below fails, the tokens are already refused everywhere.
    await this.signal([], [grantId]);
    await this.forget(grantId);
  }

  /** Revokes one access token by `jti` and, with RFC 7009's leave, the grant it came from. */
  async revokeAccessToken(jti: string, grantId?: string): Promise<void> {
    await this.signal([jti], grantId ? [grantId] : []);
    if (grantId) await this.forget(grantId);
  }

  private async forget(grantId: string): Promise<void> {
    await Promise.all([
      this.grants.deleteGrantAndTokens(grantId),
      this.artifacts.revokeByGrantId(grantId),
    ]);
  }

  /** Whether an access token was revoked (by itself or with its grant). */
  async isRevoked(jti: string, grantId?: string): Promise<boolean> {
    const keys = [this.key(REVOKED_TOKEN_KEYS.jti(jti))];
    if (grantId) keys.push(this.key(REVOKED_TOKEN_KEYS.grant(grantId)));
    // One EXISTS per key: on a Cluster the marks live in different slots.
    const marked = await Promise.all(keys.map((k) => this.redis.exists(k)));
    return marked.some((n) => n > 0);
  }

  private async signal(jtis: string[], grantIds: string[]): Promise<void> {
    const ttl = this.config.ACCESS_TOKEN_TTL_S;
    const keys = [
      ...jtis.map((jti) => this.key(REVOKED_TOKEN_KEYS.jti(jti))),
      ...grantIds.map((gid) => this.key(REVOKED_TOKEN_KEYS.grant(gid))),
    ];
    // Each mark on its own (on a Cluster they live in different slots); the event goes out only
    // once every mark is written, and a failure fails the revocation, which is retried.
    await Promise.all(keys.map((k) => this.redis.set(k, '1', 'EX', ttl)));
    const event: TokenRevokedEvent = { v: 1, jtis, grant_ids: grantIds };
    await this.events.publish(CHANNELS.tokenRevoked, event);
  }
}
