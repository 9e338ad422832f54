import { hash } from 'node:crypto';
import type { Adapter, AdapterPayload, ClientMetadata } from 'oidc-provider';
import { ClientRegistration, ClientsRepository } from '../clients/clients.repository';
import { GrantsRepository } from './grants.repository';
import { RedisArtifactStore } from './redis-artifacts.store';
import { TokenRevocationService } from './token-revocation.service';

export interface AdapterDependencies {
  artifacts: RedisArtifactStore;
  grants: GrantsRepository;
  clients: ClientsRepository;
  revocation: TokenRevocationService;
  /** oidc-provider's client metadata for a stored client. */
  clientMetadata: (client: ClientRegistration) => ClientMetadata;
  /** oidc-provider's `invalid_grant` error, so that a lost race answers 400, not 500. */
  invalidGrant: (description: string) => Error;
}

const sha256hex = (value: string) => hash('sha256', value, 'hex');

const notSupported = (what: string) => () =>
  Promise.reject(new Error(`${what} is not supported by this adapter`));

/** Everything short-lived: Redis, with a TTL (see RedisArtifactStore). */
class RedisModelAdapter implements Adapter {
  constructor(
    protected readonly model: string,
    protected readonly deps: AdapterDependencies,
  ) {}

  upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    return this.deps.artifacts.upsert(this.model, id, payload, expiresIn);
  }
  find(id: string) {
    return this.deps.artifacts.find(this.model, id);
  }
  findByUid(uid: string) {
    return this.deps.artifacts.findSessionByUid(uid);
  }
  findByUserCode = notSupported('findByUserCode');

  /**
   * Consuming is atomic: of two requests racing with one authorization code, one wins. The
   * loser is treated as a replay, like a later second use: the grant is revoked and it gets
   * `invalid_grant`.
   */
  async consume(id: string) {
    if (await this.deps.artifacts.consume(this.model, id)) return;
    const payload = await this.deps.artifacts.find(this.model, id);
    if (payload?.grantId) await this.deps.revocation.revokeGrant(payload.grantId);
    throw this.deps.invalidGrant(
      this.model === 'AuthorizationCode' ? 'authorization code already consumed' : 'already used',
    );
  }
  destroy(id: string) {
    return this.deps.artifacts.destroy(this.model, id);
  }
  revokeByGrantId(grantId: string) {
    return this.deps.artifacts.revokeByGrantId(grantId);
  }
}

/**
 * Access tokens are JWTs, never stored; oidc-provider still calls `revokeByGrantId` on this
 * model whenever it revokes a grant (revocation endpoint, refresh-token reuse, code replay,
 * sign-out). That is the one place every grant revocation passes, so it is where the gateways
 * are told.
 */
class AccessTokenAdapter extends RedisModelAdapter {
  override revokeByGrantId(grantId: string) {
    return this.deps.revocation.revokeGrant(grantId);
  }
}

/** Grants (consents) live in Postgres: they last for months and outlive restarts. */
class GrantAdapter implements Adapter {
  constructor(private readonly deps: AdapterDependencies) {}

  upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    const { jti: _jti, ...stored } = payload;
    return this.deps.grants.upsertGrant(id, stored, expiresIn);
  }
  async find(id: string) {
    const payload = await this.deps.grants.findGrant(id);
    return payload && { ...payload, jti: id };
  }
  /** Called by oidc-provider's revocation, next to AccessToken's revokeByGrantId (which signals). */
  destroy(id: string) {
    return this.deps.grants.deleteGrantAndTokens(id);
  }
  findByUid = notSupported('Grant.findByUid');
  findByUserCode = notSupported('Grant.findByUserCode');
  consume = notSupported('Grant.consume');
  revokeByGrantId = notSupported('Grant.revokeByGrantId');
}

/**
 * Refresh tokens live in Postgres under the SHA-256 of their value, kept after use until they
 * expire so that reuse is recognised (oidc-provider then revokes the grant).
 */
class RefreshTokenAdapter implements Adapter {
  constructor(private readonly deps: AdapterDependencies) {}

  upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
    // `consumed` is typed `any` by @types/oidc-provider; it is dropped either way.
    const {
      jti: _jti,
      consumed: _consumed,
      ...stored
    } = payload as Omit<AdapterPayload, 'consumed'> & {
      consumed?: unknown;
    };
    return this.deps.grants.upsertRefreshToken(sha256hex(id), stored, expiresIn);
  }
  async find(id: string) {
    const row = await this.deps.grants.findRefreshToken(sha256hex(id));
    if (!row) return undefined;
    const consumed = row.consumedAt ? Math.floor(row.consumedAt.getTime() / 1000) : undefined;
    return { ...row.payload, jti: id, ...(consumed ? { consumed } : {}) };
  }
  /** Atomic, as for codes: the loser of two concurrent refreshes is a reuse. */
  async consume(id: string) {
    const { consumed, grantId } = await this.deps.grants.consumeRefreshToken(sha256hex(id));
    if (consumed) return;
    if (grantId) await this.deps.revocation.revokeGrant(grantId);
    throw this.deps.invalidGrant('refresh token already used');
  }
  destroy(id: string) {
    return this.deps.grants.deleteRefreshToken(sha256hex(id));
  }
  revokeByGrantId(grantId: string) {
    return this.deps.grants.deleteRefreshTokensOfGrant(grantId);
  }
  findByUid = notSupported('RefreshToken.findByUid');
  findByUserCode = notSupported('RefreshToken.findByUserCode');
}

/** Clients are registered through the identity queue; oidc-provider only reads them. */
class ClientAdapter implements Adapter {
  constructor(private readonly deps: AdapterDependencies) {}

  async find(id: string) {
    const client = await this.deps.clients.findRegistration(id);
    return client ? (this.deps.clientMetadata(client) as AdapterPayload) : undefined;
  }
  upsert = notSupported('Client.upsert');
  destroy = notSupported('Client.destroy');
  findByUid = notSupported('Client.findByUid');
  findByUserCode = notSupported('Client.findByUserCode');
  consume = notSupported('Client.consume');
  revokeByGrantId = notSupported('Client.revokeByGrantId');
}

/** oidc-provider's `adapter` option: one adapter per model name. */
export function adapterFactory(deps: AdapterDependencies): (model: string) => Adapter {
  return (model) => {
    switch (model) {
      case 'Client':
        return new ClientAdapter(deps);
      case 'Grant':
        return new GrantAdapter(deps);
      case 'RefreshToken':
        return new RefreshTokenAdapter(deps);
      case 'AccessToken':
      case 'ClientCredentials':
        return new AccessTokenAdapter(model, deps);
      default:
        return new RedisModelAdapter(model, deps);
    }
  };
}
