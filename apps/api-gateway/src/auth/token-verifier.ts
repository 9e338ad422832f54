import { hash as digest } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { OAuthPrincipal } from '@cap/auth';
import { DomainError, REVOKED_TOKEN_KEYS, TokenRevokedEvent } from '@cap/contracts';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Redis keys of revoked tokens live under this prefix (the queue prefix). */
  prefix: string;
  cacheMax: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Signature algorithms the auth-server may use; `none` and HMAC are never accepted. */
const ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

export function looksLikeJwt(token: string): boolean {
  return token.length < 8192 && JWT_SHAPE.test(token);
}

function invalid(message = 'The access token is invalid or expired.'): DomainError {
  return new DomainError('invalid_token', message);
}

/**
 * Verifies OAuth access tokens locally: signature against the auth-server's JWKS (fetched and
 * cached by jose, refetched for an unknown `kid`), `typ: at+jwt`, issuer, audience, expiry.
 * A verified token is cached until it expires, so the signature is checked once per token per
 * process; revocation (pub/sub, and Redis marks checked on first sight) evicts it.
 */
export class TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly verified: LRUCache<string, OAuthPrincipal>;
  private readonly byJti = new Map<string, string>();
  /** The cached tokens of each grant, so revoking a grant finds them without a scan. */
  private readonly byGrant = new Map<string, Set<string>>();
  /** Tokens and grants revoked recently, so a verification in flight cannot cache them. */
  private readonly revoked: LRUCache<string, true>;

  constructor(
    private readonly redis: Redis,
    private readonly options: TokenVerifierOptions,
  ) {
    // An unknown `kid` refetches the JWKS at most once a second: a rotated signing key is
    // accepted within a second, and forged kids cannot make the gateway hammer the auth-server.
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 1_000,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 2_000,
    });
    this.verified = new LRUCache({
      max: options.cacheMax,
      dispose: (p, hash) => {
        this.byJti.delete(p.token_id);
        if (!p.grant_id) return;
        const hashes = this.byGrant.get(p.grant_id);
        hashes?.delete(hash);
        if (hashes?.size === 0) this.byGrant.delete(p.grant_id);
      },
    });
    this.revoked = new LRUCache({ max: 100_000, ttl: 60 * 60_000 });
  }

  /** The principal of a token verified before and not expired yet: no I/O, no promise. */
  verifiedPrincipal(token: string): OAuthPrincipal | undefined {
    const cached = this.verified.get(digest('sha256', token, 'hex'));
    return cached && cached.expires_at * 1000 > Date.now() ? cached : undefined;
  }

  async verify(token: string): Promise<OAuthPrincipal> {
    const hash = digest('sha256', token, 'hex');
    const cached = this.verified.get(hash);
    if (cached) {
      if (cached.expires_at * 1000 <= Date.now()) {
        this.verified.delete(hash);
        throw invalid();
      }
      return cached;
    }
    const principal = await this.check(token);
    if (this.isRevoked(principal)) throw invalid();
    const ttl = principal.expires_at * 1000 - Date.now();
    if (ttl > 0) {
      this.verified.set(hash, principal, { ttl });
      this.byJti.set(principal.token_id, hash);
      if (principal.grant_id) {
        const hashes = this.byGrant.get(principal.grant_id) ?? new Set<string>();
        this.byGrant.set(principal.grant_id, hashes.add(hash));
      }
    }
    return principal;
  }

  private async check(token: string): Promise<OAuthPrincipal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        clockTolerance: 5,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      }));
    } catch (err) {
      if (
        err instanceof errors.JWKSTimeout ||
        (err instanceof TypeError && /fetch/i.test(err.message))
      ) {
        throw new DomainError('service_unavailable', 'Access tokens cannot be checked right now.', {
          cause: err,
        });
      }
      throw invalid();
    }
    const sub = String(payload.sub);
    const principal: OAuthPrincipal = {
      kind: 'oauth',
      user_id: sub.startsWith('usr_') ? sub : null,
      client_id: String(payload.client_id),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      token_id: String(payload.jti),
      grant_id: typeof payload.gid === 'string' ? payload.gid : null,
      expires_at: Number(payload.exp),
      rate_limit: null,
    };
    // One round trip, once per token per process: was it revoked before we ever saw it?
    const keys = [this.key(REVOKED_TOKEN_KEYS.jti(principal.token_id))];
    if (principal.grant_id) keys.push(this.key(REVOKED_TOKEN_KEYS.grant(principal.grant_id)));
    let marked: number;
    try {
      marked = await this.redis.exists(...keys);
    } catch (err) {
      throw new DomainError('service_unavailable', 'Access tokens cannot be checked right now.', {
        cause: err,
      });
    }
    if (marked > 0) throw invalid();
    return principal;
  }

  private key(suffix: string): string {
    return `${this.options.prefix}:${suffix}`;
  }

  private isRevoked(p: OAuthPrincipal): boolean {
    return (
      this.revoked.has(`jti:${p.token_id}`) ||
      (!!p.grant_id && this.revoked.has(`gid:${p.grant_id}`))
    );
  }

  /** A revocation event: forget the tokens and remember them as revoked. */
  onRevoked(event: Partial<TokenRevokedEvent>): void {
    for (const jti of event.jtis ?? []) {
      this.revoked.set(`jti:${jti}`, true);
      const hash = this.byJti.get(String(jti));
      if (hash) this.verified.delete(hash);
    }
    const grants = new Set((event.grant_ids ?? []).map(String));
    for (const gid of grants) {
      this.revoked.set(`gid:${gid}`, true);
      for (const hash of [...(this.byGrant.get(gid) ?? [])]) this.verified.delete(hash);
    }
  }

  clear(): void {
    this.verified.clear();
  }
}
