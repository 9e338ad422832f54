import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
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

/** AES-256-GCM under `key`: iv (12 bytes) ‖ tag (16) ‖ ciphertext, base64url. */
function seal(key: Buffer, plain: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** `seal`'s inverse; `null` for anything not sealed under `key` with `aad`. */
function unseal(key: Buffer, sealed: string, aad: string): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < 29) return null;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      .setAAD(Buffer.from(aad))
      .setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** The key a session record is encrypted with: derived from the cookie, never stored. */
const sessionKeyOf = (id: string) =>
  Buffer.from(hkdfSync('sha256', id, 'cap-console', 'session record', 32));

/** How long a sign-in may take between /auth/start and the callback. */
export const SIGN_IN_TTL_S = 600;

/** How long one request's token refresh may hold the session's refresh lock. */
const REFRESH_LOCK_MS = 10_000;

/**
 * Sessions in Redis under `<prefix>:console:*` (the console's Redis user may touch nothing
 * else), keyed by the SHA-256 of the cookie value and encrypted with a key derived from it, so
 * that a dump of Redis holds neither usable cookies nor tokens. A session's keys expire after
 * `idleS` without use, and never later than `maxAgeS` after the sign-in.
 *
 * A sign-in under way is no server state at all: its PKCE verifier, state and return path travel
 * sealed (AES-GCM) in the browser's sign-in cookie, so that unauthenticated `/auth/start`
 * requests write nothing to Redis. The sealing key is made once per deployment and shared
 * through Redis (`init`).
 */
export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly idleS: number,
    private readonly maxAgeS: number,
  ) {}

  private signInKey?: Buffer;

  /** Loads (or makes, once for every replica) the key sign-in cookies are sealed with. */
  async init(): Promise<void> {
    const name = `${this.prefix}:console:signin-seal-key`;
    await this.redis.set(name, randomBytes(32).toString('base64url'), 'NX');
    const stored = await this.redis.get(name);
    if (!stored) throw new Error('the console could not load its sign-in sealing key from Redis');
    this.signInKey = Buffer.from(stored, 'base64url');
  }

  private key(kind: 'sess' | 'failed' | 'refresh', id: string) {
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

  /** The stored form of a session record: sealed under a key derived from its cookie. */
  encode(id: string, session: Session): string {
    return seal(sessionKeyOf(id), JSON.stringify(session), 'session');
  }

  async create(session: Session): Promise<string> {
    const id = randomToken();
    await this.redis.set(this.key('sess', id), this.encode(id, session), 'EX', this.ttlOf(session));
    return id;
  }

  async get(id: string | undefined): Promise<Session | null> {
    if (!isTokenShaped(id)) return null;
    const raw = await this.redis.get(this.key('sess', id));
    const plain = raw ? unseal(sessionKeyOf(id), raw, 'session') : null;
    // A record written before sessions were encrypted is not read: that browser signs in again.
    return plain ? (JSON.parse(plain) as Session) : null;
  }

  /** Stores a changed session, unless it ended meanwhile (signed out in another tab). */
  async save(id: string, session: Session): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.destroy(id);
    await this.redis.set(this.key('sess', id), this.encode(id, session), 'EX', ttl, 'XX');
  }

  /**
   * The right to refresh this session's tokens, for one request at a time: refresh tokens are
   * single-use (rotated), and a second refresh with the same one would be taken for a replay
   * and end the grant. Held at most REFRESH_LOCK_MS; `release` when done.
   */
  async lockRefresh(id: string): Promise<boolean> {
    return (
      (await this.redis.set(this.key('refresh', id), '1', 'PX', REFRESH_LOCK_MS, 'NX')) === 'OK'
    );
  }

  async releaseRefresh(id: string): Promise<void> {
    await this.redis.del(this.key('refresh', id));
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

  /** The sign-in cookie's value for a sign-in under way: sealed, valid SIGN_IN_TTL_S. */
  sealSignIn(pending: PendingSignIn, now = Date.now()): string {
    return seal(
      this.sealingKey(),
      JSON.stringify({ ...pending, exp: now + SIGN_IN_TTL_S * 1000 }),
      'signin',
    );
  }

  /** The sign-in the cookie carries, or `null` when forged, altered or expired. */
  openSignIn(cookie: string | undefined, now = Date.now()): PendingSignIn | null {
    if (typeof cookie !== 'string' || cookie.length > 2048) return null;
    const plain = unseal(this.sealingKey(), cookie, 'signin');
    if (!plain) return null;
    const { exp, ...pending } = JSON.parse(plain) as PendingSignIn & { exp: number };
    return typeof exp === 'number' && exp > now ? pending : null;
  }

  private sealingKey(): Buffer {
    if (!this.signInKey) throw new Error('SessionStore.init() was not called');
    return this.signInKey;
  }
}
