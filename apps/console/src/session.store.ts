import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What the console keeps for a signed-in browser. Never sent to the browser. */
export interface Session {
  access_token: string;
  refresh_token?: string;
  /** Epoch ms at which the access token expires. */
  expires_at: number;
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
 * Sessions and pending sign-ins in Redis, keyed by the SHA-256 of the cookie value (so a dump
 * of Redis does not hold usable cookies), with a TTL renewed on use.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlS: number,
  ) {}

  private key(kind: 'sess' | 'login', id: string) {
    return `${this.prefix}:console:${kind}:${createHash('sha256').update(id).digest('hex')}`;
  }

  async create(session: Session): Promise<string> {
    const id = randomToken();
    await this.redis.set(this.key('sess', id), JSON.stringify(session), 'EX', this.ttlS);
    return id;
  }

  async get(id: string | undefined): Promise<Session | null> {
    if (!isTokenShaped(id)) return null;
    const raw = await this.redis.get(this.key('sess', id));
    return raw ? (JSON.parse(raw) as Session) : null;
  }

  async save(id: string, session: Session): Promise<void> {
    await this.redis.set(this.key('sess', id), JSON.stringify(session), 'EX', this.ttlS);
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key('sess', id));
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
