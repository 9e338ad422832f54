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
import { Metrics } from '@cap/observability';
import { EventBus } from '@cap/queue';
import type { Counter } from 'prom-client';
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
  private readonly cache: KeyCache<ReadyKey>;
  private readonly inFlight = new Map<string, Promise<ReadyKey | null>>();
  private readonly checks: Counter<'kind' | 'outcome'>;

  constructor(
    @Inject(CONFIG) config: GatewayConfig,
    private readonly upstream: Upstream,
    private readonly events: EventBus,
    private readonly tokens: TokenVerifier,
    private readonly keyUsage: KeyUsage,
    metrics: Metrics,
  ) {
    this.cache = new KeyCache(config.KEY_CACHE_MAX, config.KEY_CACHE_TTL_MS, {
      max: config.KEY_NEGATIVE_CACHE_MAX,
      ttlMs: config.KEY_NEGATIVE_CACHE_TTL_MS,
    });
    this.checks = metrics.counter({
      name: 'gateway_credential_checks_total',
      help:
        'Credentials this gateway did not know yet and checked (a key asked of projects-service, ' +
        'a token verified), by kind and outcome (accepted, refused, unavailable: the check ' +
        'could not be made); known ones are answered from memory, uncounted.',
      labelNames: ['kind', 'outcome'],
    });
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
    // Events published while the subscription was down are lost: forget everything once it is
    // back (the bus says so only then), and lookups begun before are not cached.
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

  /**
   * Whether `token` is an API key that was valid here until its cache entry aged out: not a
   * guess, so looked up even for an address that spent its budget of failures. Off the path
   * of cached credentials.
   */
  wasRecentlyValid(token: string): boolean {
    return token.startsWith(API_KEY_PREFIX) && this.cache.wasKnown(hashApiKey(token));
  }

  /** Any token, known here or not (on a miss, the key is asked for once, however many wait). */
  async resolve(token: string): Promise<Principal | null> {
    if (!token.startsWith(API_KEY_PREFIX)) {
      return looksLikeJwt(token) ? this.counted('access_token', this.tokens.verify(token)) : null;
    }
    if (!isWellFormedApiKey(token)) return null;
    const hash = hashApiKey(token);
    const cached = this.cache.get(hash);
    const key = cached ? cached.principal : await this.lookup(hash);
    return key && this.admit(key);
  }

  /** Counts one check of a credential by its outcome (`unavailable`: it could not be made). */
  private async counted<T>(kind: 'api_key' | 'access_token', check: Promise<T>): Promise<T> {
    try {
      const found = await check;
      this.checks.inc({ kind, outcome: found ? 'accepted' : 'refused' });
      return found;
    } catch (err) {
      this.checks.inc({ kind, outcome: 'unavailable' });
      throw err;
    }
  }

  /** A key's principal if it has not expired, noting that it was used. */
  private admit(key: ReadyKey): ApiKeyPrincipal | null {
    if (key.expiresAtMs <= Date.now()) return null;
    this.keyUsage.touch(key.key_id);
    return key.principal;
  }

  /** Drops a key now (this process); other processes learn it from the event. */
  evict(keyId: string): void {
    this.cache.evictKey(keyId);
  }

  private lookup(hash: string): Promise<ReadyKey | null> {
    let pending = this.inFlight.get(hash);
    if (!pending) {
      // A revocation arriving while projects-service answers may postdate that answer: then
      // the answer serves the requests that were waiting for it, and is not cached.
      const mark = this.cache.mark();
      // Counted once per lookup, however many requests wait for it.
      pending = this.counted(
        'api_key',
        this.upstream.projects.call('keys.authenticate', { v: 1, secret_hash: hash }),
      )
        .then((key) => {
          const ready = key && readyKey(key);
          this.cache.set(hash, ready, mark);
          return ready;
        })
        .finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }
}

/** A key as the cache keeps it: its principal built and its expiry parsed once, not per request. */
interface ReadyKey {
  key_id: string;
  principal: ApiKeyPrincipal;
  expiresAtMs: number;
}

function readyKey(key: KeyPrincipal): ReadyKey {
  return {
    key_id: key.key_id,
    principal: {
      kind: 'api_key',
      user_id: key.user_id,
      key_id: key.key_id,
      project_id: key.project_id,
      scopes: key.scopes,
      rate_limit: key.rate_limit,
      project_access: key.project_access,
      grant_id: key.grant_id,
      ...(key.superseded ? { superseded: true as const } : {}),
    },
    expiresAtMs: key.expires_at ? Date.parse(key.expires_at) : Infinity,
  };
}
