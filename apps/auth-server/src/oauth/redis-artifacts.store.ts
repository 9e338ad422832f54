import { hash } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { execOrThrow, RedisClient } from '@cap/queue';

/** Used only if oidc-provider ever saves without a lifetime, so no key lives forever. */
const FALLBACK_TTL_S = 24 * 3600;

const sha256 = (value: string) => hash('sha256', value, 'base64url');

// Marks an artifact consumed, atomically: 1 for the first caller, 0 for later ones, -1 if gone.
const CONSUME = `
if redis.call('exists', KEYS[1]) == 0 then return -1 end
return redis.call('hsetnx', KEYS[1], 'c', ARGV[1])`;

/**
 * oidc-provider's short-lived artifacts in Redis, each a hash (`p`: the payload as JSON, `c`: when
 * it was consumed) that expires with the artifact. Keys are the SHA-256 of the artifact's id, and
 * payloads are stored without it: a session cookie or an authorization code cannot be read back
 * out of Redis. A set per grant lists its artifacts so that a revoked grant takes them along.
 */
export class RedisArtifactStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(model: string, id: string): string {
    return `${this.prefix}:oidc:${model}:${sha256(id)}`;
  }

  private grantKey(grantId: string): string {
    return `${this.prefix}:oidc:grant:${grantId}`;
  }

  private uidKey(uid: string): string {
    return `${this.prefix}:oidc:session-uid:${sha256(uid)}`;
  }

  async upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number) {
    const ttl = expiresIn && expiresIn > 0 ? Math.ceil(expiresIn) : FALLBACK_TTL_S;
    const key = this.key(model, id);
    // `consumed` is typed `any` by @types/oidc-provider; it is dropped either way.
    const {
      jti: _jti,
      consumed: _consumed,
      ...stored
    } = payload as Omit<AdapterPayload, 'consumed'> & {
      consumed?: unknown;
    };
    // The indexes first, each on its own (on a Cluster they live in other slots than the
    // artifact): an artifact is never stored that its grant's revocation would not find; an
    // index naming an artifact that is not stored is harmless.
    if (payload.grantId) {
      const set = this.grantKey(payload.grantId);
      // The set lives as long as its longest-lived member.
      await execOrThrow(
        this.redis.multi().sadd(set, key).expire(set, ttl, 'NX').expire(set, ttl, 'GT'),
      );
    }
    if (model === 'Session' && payload.uid) {
      await this.redis.set(this.uidKey(payload.uid), key, 'EX', ttl);
    }
    await execOrThrow(
      this.redis.multi().del(key).hset(key, 'p', JSON.stringify(stored)).expire(key, ttl),
    );
  }

  private async read(key: string): Promise<AdapterPayload | undefined> {
    const stored = await this.redis.hgetall(key);
    if (!stored.p) return undefined;
    const payload = JSON.parse(stored.p) as AdapterPayload;
    if (stored.c) payload.consumed = Number(stored.c);
    return payload;
  }

  async find(model: string, id: string): Promise<AdapterPayload | undefined> {
    const payload = await this.read(this.key(model, id));
    return payload && { ...payload, jti: id };
  }

  /** A session by its `uid` (its id, the cookie value, is not known here, nor needed). */
  async findSessionByUid(uid: string): Promise<AdapterPayload | undefined> {
    const key = await this.redis.get(this.uidKey(uid));
    return key ? this.read(key) : undefined;
  }

  /** Marks the artifact consumed; `false` when it already was (or is gone): a replay. */
  async consume(model: string, id: string): Promise<boolean> {
    const now = String(Math.floor(Date.now() / 1000));
    return (await this.redis.eval(CONSUME, 1, this.key(model, id), now)) === 1;
  }

  async destroy(model: string, id: string): Promise<void> {
    const key = this.key(model, id);
    const payload = model === 'Session' ? await this.read(key) : undefined;
    const keys = [key];
    if (payload?.uid && (await this.redis.get(this.uidKey(payload.uid))) === key) {
      keys.push(this.uidKey(payload.uid));
    }
    // One DEL per key: on a Cluster they live in different slots.
    await Promise.all(keys.map((k) => this.redis.del(k)));
  }

  /** Deletes every artifact of the grant (its authorization codes). */
  async revokeByGrantId(grantId: string): Promise<void> {
    const set = this.grantKey(grantId);
    const members = await this.redis.smembers(set);
    // The artifacts, then the set that finds them (each its own slot on a Cluster).
    await Promise.all(members.map((k) => this.redis.del(k)));
    await this.redis.del(set);
  }
}
