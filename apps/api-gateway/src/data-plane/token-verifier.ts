import { hash as digest } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors,
  ExportedJWKSCache,
  jwksCache,
  JWTPayload,
  jwtVerify,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { OAuthPrincipal } from '@cap/auth';
import { DomainError, REVOKED_TOKEN_KEYS, TokenRevokedEvent } from '@cap/contracts';
import type { RedisClient } from '@cap/queue';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Redis keys of revoked tokens live under this prefix (the queue prefix). */
  prefix: string;
  cacheMax: number;
  /** Longest `exp - iat` accepted: a token minted to live longer is refused. */
  maxLifetimeS: number;
  /**
   * How often the JWKS is fetched again even when no unknown `kid` asks for it, so that the
   * cached tokens of a signing key that left it are dropped (off when absent).
   */
  jwksRefreshMs?: number;
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
  /** The signing key (`kid`) of each cached token, and the cached tokens of each key. */
  private readonly kidOf = new Map<string, string>();
  private readonly byKid = new Map<string, Set<string>>();
  /** Where jose keeps the JWKS it fetched, and when (`uat`): read to notice a refetch. */
  private readonly jwksState = {} as ExportedJWKSCache;
  private seenJwksAt = 0;
  private readonly refreshTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: TokenVerifierOptions,
  ) {
    // An unknown `kid` refetches the JWKS at most once a second: a rotated signing key is
    // accepted within a second, and forged kids cannot make the gateway hammer the auth-server.
    this.jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: 1_000,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 2_000,
      [jwksCache]: this.jwksState,
    });
    this.verified = new LRUCache({
      max: options.cacheMax,
      dispose: (p, hash) => {
        this.byJti.delete(p.token_id);
        const kid = this.kidOf.get(hash);
        this.kidOf.delete(hash);
        const ofKid = kid === undefined ? undefined : this.byKid.get(kid);
        ofKid?.delete(hash);
        if (ofKid?.size === 0) this.byKid.delete(kid!);
        if (!p.grant_id) return;
        const hashes = this.byGrant.get(p.grant_id);
        hashes?.delete(hash);
        if (hashes?.size === 0) this.byGrant.delete(p.grant_id);
      },
    });
    this.revoked = new LRUCache({ max: 100_000, ttl: 60 * 60_000 });
    if (options.jwksRefreshMs) {
      this.refreshTimer = setInterval(() => void this.refreshKeys(), options.jwksRefreshMs);
      this.refreshTimer.unref();
    }
  }

  /**
   * Fetches the JWKS again and drops every cached token whose signing key is no longer in it.
   * A fetch that fails changes nothing: an auth-server outage must not log everyone out.
   */
  async refreshKeys(): Promise<void> {
    try {
      await this.jwks.reload();
    } catch {
      return;
    }
    this.dropTokensOfRemovedKeys();
  }

  /** After jose fetched the JWKS (for any reason): forget tokens signed by a key that left. */
  private dropTokensOfRemovedKeys(): void {
    const { uat, jwks } = this.jwksState;
    if (!jwks || uat === this.seenJwksAt) return;
    this.seenJwksAt = uat;
    const present = new Set(jwks.keys.map((k) => k.kid ?? ''));
    for (const [kid, hashes] of [...this.byKid]) {
      if (present.has(kid)) continue;
      for (const hash of [...hashes]) this.verified.delete(hash);
      this.byKid.delete(kid);
    }
  }

  close(): void {
    clearInterval(this.refreshTimer);
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
    const { principal, kid } = await this.check(token);
    if (this.isRevoked(principal)) throw invalid();
    const ttl = principal.expires_at * 1000 - Date.now();
    // A check may have refetched the JWKS: tokens of a signing key that left it go now, and
    // this one is not cached if its own key just left (it was verified against the old set).
    this.dropTokensOfRemovedKeys();
    const keyPresent = this.jwksState.jwks?.keys.some((k) => (k.kid ?? '') === kid) ?? true;
    if (ttl > 0 && keyPresent) {
      this.verified.set(hash, principal, { ttl });
      this.byJti.set(principal.token_id, hash);
      this.kidOf.set(hash, kid);
      this.byKid.set(kid, (this.byKid.get(kid) ?? new Set<string>()).add(hash));
      if (principal.grant_id) {
        const hashes = this.byGrant.get(principal.grant_id) ?? new Set<string>();
        this.byGrant.set(principal.grant_id, hashes.add(hash));
      }
    }
    return principal;
  }

  private async check(token: string): Promise<{ principal: OAuthPrincipal; kid: string }> {
    let payload: JWTPayload;
    let kid: string;
    try {
      let protectedHeader: { kid?: string };
      ({ payload, protectedHeader } = await jwtVerify(token, this.jwks, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        clockTolerance: 5,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      }));
      kid = String(protectedHeader.kid ?? '');
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
    // A token minted to live longer than the auth-server ever issues (a stolen signing key,
    // a misconfiguration) is refused rather than honoured for its whole life.
    if (Number(payload.exp) - Number(payload.iat) > this.options.maxLifetimeS) throw invalid();
    const sub = String(payload.sub);
    const principal: OAuthPrincipal = {
      kind: 'oauth',
      user_id: sub.startsWith('usr_') ? sub : null,
      client_id: String(payload.client_id),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      token_id: String(payload.jti),
      grant_id: typeof payload.gid === 'string' ? payload.gid : null,
      ...(payload.first_party === true ? { first_party: true as const } : {}),
      expires_at: Number(payload.exp),
      rate_limit: null,
    };
    // Once per token per process: was it revoked before we ever saw it?
    const keys = [this.key(REVOKED_TOKEN_KEYS.jti(principal.token_id))];
    if (principal.grant_id) keys.push(this.key(REVOKED_TOKEN_KEYS.grant(principal.grant_id)));
    let marked: number;
    try {
      // One EXISTS per key: on a Cluster the two marks live in different slots.
      marked = (await Promise.all(keys.map((k) => this.redis.exists(k)))).reduce(
        (a, b) => a + b,
        0,
      );
    } catch (err) {
      throw new DomainError('service_unavailable', 'Access tokens cannot be checked right now.', {
        cause: err,
      });
    }
    if (marked > 0) throw invalid();
    return { principal, kid };
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
