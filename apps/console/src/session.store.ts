import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '@cap/queue';

/** What the console keeps for a signed-in browser. Never sent to the browser. */
export interface Session {
  access_token: string;
  refresh_token?: string;
  /** Epoch ms at which the access token expires. */
  expires_at: number;
  /** Epoch ms of the sign-in: the session ends CONSOLE_SESSION_MAX_AGE_S later, used or not. */
  created_at: number;
  /** Synchronizer token every state-changing form must carry. */
  csrf: string;
  user?: { id: string; email: string };
}

/** A sign-in under way: the PKCE verifier and state, bound to the browser by a cookie. */
export interface PendingSignIn {
  state: string;
  verifier: string;
  return_to: string;
}

/** An API call the console made for the user that failed: offered when they open a ticket. */
export interface FailedRequest {
  request_id: string;
  /** Epoch ms. */
  at: number;
  method: string;
  /** The `/v1` path without its query. */
  path: string;
  status: number;
  code: string;
}

/** How many failed requests a session remembers (the newest). */
export const FAILED_REQUESTS_KEPT = 20;

export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Cookie values are random 32-byte tokens; anything else is refused before any lookup. */
export const isTokenShaped = (s: string | undefined): s is string =>
  typeof s === 'string' && /^[A-Za-z0-9_-]{43}$/.test(s);

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Sessions and pending sign-ins in Redis under `<prefix>:console:*` (the console's Redis user may
 * touch nothing else), keyed by the SHA-256 of the cookie value (so a dump of Redis does not hold
 * usable cookies). A session's keys expire after `idleS` without use, and never later than
 * `maxAgeS` after the sign-in.
 */
export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly idleS: number,
    private readonly maxAgeS: number,
  ) {}

  private key(kind: 'sess' | 'login' | 'failed', id: string) {
    return `${this.prefix}:console:${kind}:${createHash('sha256').update(id).digest('hex')}`;
  }

  /** Seconds the session may still live: the idle TTL, capped by its absolute end. */
  ttlOf(session: Session, now = Date.now()): number {
    const left = Math.floor((session.created_at + this.maxAgeS * 1000 - now) / 1000);
    return Math.min(this.idleS, left);
  }

  /** Whether the session has reached its absolute lifetime. */
  isPastMaxAge(session: Session, now = Date.now()): boolean {
    return this.ttlOf(session, now) <= 0;
  }

  async create(session: Session): Promise<string> {
    const id = randomToken();
    await this.redis.set(this.key('sess', id), JSON.stringify(session), 'EX', this.ttlOf(session));
    return id;
  }

  async get(id: string | undefined): Promise<Session | null> {
    if (!isTokenShaped(id)) return null;
    const raw = await this.redis.get(this.key('sess', id));
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    // Sessions written before `created_at` existed start their lifetime now.
    session.created_at ??= Date.now();
    return session;
  }

  async save(id: string, session: Session): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.destroy(id);
    await this.redis.set(this.key('sess', id), JSON.stringify(session), 'EX', ttl);
  }

  /** Renews the idle TTL of a session in use (never past its absolute end). */
  async touch(id: string, session: Session): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.destroy(id);
    await this.redis.expire(this.key('sess', id), ttl);
    await this.redis.expire(this.key('failed', id), ttl);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key('sess', id));
    await this.redis.del(this.key('failed', id));
  }

  /** Remembers a failed API call, keeping the newest FAILED_REQUESTS_KEPT. */
  async recordFailure(id: string, session: Session, failure: FailedRequest): Promise<void> {
    const key = this.key('failed', id);
    await this.redis.lpush(key, JSON.stringify(failure));
    await this.redis.ltrim(key, 0, FAILED_REQUESTS_KEPT - 1);
    await this.redis.expire(key, Math.max(1, this.ttlOf(session)));
  }

  /** The session's failed requests, newest first. */
  async failures(id: string): Promise<FailedRequest[]> {
    const raw = await this.redis.lrange(this.key('failed', id), 0, FAILED_REQUESTS_KEPT - 1);
    return raw.map((r) => JSON.parse(r) as FailedRequest);
  }

  async startSignIn(pending: PendingSignIn): Promise<string> {
    const id = randomToken();
    await this.redis.set(this.key('login', id), JSON.stringify(pending), 'EX', 600);
    return id;
  }

  /** The pending sign-in, consumed: a callback can be used once. */
  async takeSignIn(id: string | undefined): Promise<PendingSignIn | null> {
    if (!isTokenShaped(id)) return null;
    const raw = await this.redis.getdel(this.key('login', id));
    return raw ? (JSON.parse(raw) as PendingSignIn) : null;
  }
}
