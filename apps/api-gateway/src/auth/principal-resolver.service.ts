import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  API_KEY_PREFIX,
  ApiKeyPrincipal,
  hashApiKey,
  isWellFormedApiKey,
  Principal,
  PrincipalResolver,
} from '@cap/auth';
import { CHANNELS, KeyPrincipal, KeyRevokedEvent, TokenRevokedEvent } from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { CONFIG, GatewayConfig } from '../config';
import { Upstream } from '../upstream/upstream';
import { KeyCache } from './key-cache';
import { KeyUsage } from './key-usage';
import { looksLikeJwt, TokenVerifier } from './token-verifier';

/**
 * Bearer token → principal, on the hot path. API keys: a malformed key is refused before any
 * lookup; a known one is answered from memory; a miss asks projects-service once, however many
 * requests wait for it. OAuth access tokens: verified locally (TokenVerifier). Revocations of
 * either arrive by pub/sub and evict at once.
 */
@Injectable()
export class BearerPrincipalResolver implements PrincipalResolver, OnApplicationBootstrap {
  private readonly cache: KeyCache;
  private readonly inFlight = new Map<string, Promise<KeyPrincipal | null>>();
  private readonly principals = new WeakMap<
    KeyPrincipal,
    { principal: ApiKeyPrincipal; expiresAtMs: number }
  >();

  constructor(
    @Inject(CONFIG) config: GatewayConfig,
    private readonly upstream: Upstream,
    private readonly events: EventBus,
    private readonly tokens: TokenVerifier,
    private readonly keyUsage: KeyUsage,
  ) {
    this.cache = new KeyCache(config.KEY_CACHE_MAX, config.KEY_CACHE_TTL_MS);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.events.subscribe(CHANNELS.keyRevoked, (payload) => {
      const event = payload as Partial<KeyRevokedEvent>;
      if (!Array.isArray(event.key_ids)) return;
      for (const id of event.key_ids) this.cache.evictKey(String(id));
    });
    await this.events.subscribe(CHANNELS.tokenRevoked, (payload) =>
      this.tokens.onRevoked(payload as Partial<TokenRevokedEvent>),
    );
    // Events published while the subscription was down are lost: forget everything then.
    this.events.onReconnect(() => {
      this.cache.clear();
      this.tokens.clear();
    });
  }

  /**
   * The principal of `token` when this process knows the answer already (a cached key, a
   * verified access token, a malformed token): `null` when it grants nothing, `undefined` when
   * only `resolve` can tell. No promise, no I/O: the path of nearly every request.
   */
  resolveKnown(token: string): Principal | null | undefined {
    // What is cached was well formed when it was cached: shape checks are for misses.
    if (!token.startsWith(API_KEY_PREFIX)) {
      return this.tokens.verifiedPrincipal(token) ?? (looksLikeJwt(token) ? undefined : null);
    }
    const cached = this.cache.get(hashApiKey(token));
    if (!cached) return isWellFormedApiKey(token) ? undefined : null;
    return cached.principal && this.admit(cached.principal);
  }

  async resolve(token: string): Promise<Principal | null> {
    const known = this.resolveKnown(token);
    if (known !== undefined) return known;
    if (!token.startsWith(API_KEY_PREFIX)) return this.tokens.verify(token);
    const key = await this.lookup(hashApiKey(token));
    return key && this.admit(key);
  }

  /** A key's principal if it has not expired, noting that it was used. */
  private admit(key: KeyPrincipal): ApiKeyPrincipal | null {
    const ready = this.principalOf(key);
    if (ready.expiresAtMs <= Date.now()) return null;
    this.keyUsage.touch(key.key_id);
    return ready.principal;
  }

  /**
   * The principal of a cached key, built once per cache entry (not per request), with its
   * expiry already parsed.
   */
  private principalOf(key: KeyPrincipal): { principal: ApiKeyPrincipal; expiresAtMs: number } {
    let ready = this.principals.get(key);
    if (!ready) {
      ready = {
        principal: {
          kind: 'api_key',
          user_id: key.user_id,
          key_id: key.key_id,
          project_id: key.project_id,
          scopes: key.scopes,
          rate_limit: key.rate_limit,
        },
        expiresAtMs: key.expires_at ? Date.parse(key.expires_at) : Infinity,
      };
      this.principals.set(key, ready);
    }
    return ready;
  }

  /** Drops a key now (this process); other processes learn it from the event. */
  evict(keyId: string): void {
    this.cache.evictKey(keyId);
  }

  private lookup(hash: string): Promise<KeyPrincipal | null> {
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.upstream.projects
        .call('keys.authenticate', { v: 1, secret_hash: hash })
        .then((principal) => {
          this.cache.set(hash, principal);
          return principal;
        })
        .finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }
}
