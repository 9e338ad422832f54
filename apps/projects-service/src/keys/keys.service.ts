import { Injectable } from '@nestjs/common';
import {
  Actor,
  ApiKey,
  assertCurrentSecret,
  DomainError,
  isoOrNull,
  isScope,
  KeyPrincipal,
  ListPage,
  MAX_LIVE_KEYS_PER_PROJECT,
  newId,
  projectNotFound,
  ProjectsJobs,
  SCOPES,
} from '@cap/contracts';
import type { MemberRole } from '@cap/db';
import { EventBus } from '@cap/queue';
import { badCursor, keyNotFound } from '../errors';
import { assertNotConfined, authorize, withinConfinement } from '../projects/access';
import { ProjectsRepository } from '../projects/projects.repository';
import { assertMay, assertMayOnKey } from '../projects/roles';
import { announceKeysRevoked } from './key-events';
import { KeyRow, KeysRepository, toApiKey } from './keys.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];
type Res<K extends keyof ProjectsJobs> = ProjectsJobs[K]['res'];

@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeysRepository,
    private readonly projects: ProjectsRepository,
    private readonly events: EventBus,
  ) {}

  async create(req: Req<'keys.create'>): Promise<ApiKey> {
    assertCurrentSecret(req.actor, 'create keys');
    await authorize(this.projects, req.project_id, req.actor, 'keys.create');
    // A key never gets more than the credential that created it.
    const scopes = req.scopes ?? req.actor.scopes.filter(isScope);
    const excess = scopes.filter((s) => !req.actor.scopes.includes(s));
    if (excess.length) {
      throw new DomainError(
        'insufficient_scope',
        `A key cannot be given scopes its creator lacks: ${excess.join(', ')}.`,
        { param: 'scopes' },
      );
    }
    // Nor a wider reach: a confined key makes confined keys (by default too).
    const projectAccess = req.project_access ?? (req.actor.confined_to ? 'own' : 'member');
    if (projectAccess === 'member') {
      assertNotConfined(req.actor, 'create a key with project_access "member"');
    }
    const row = await this.keys.create(
      {
        id: newId('key'),
        projectId: req.project_id,
        createdBy: req.actor.user_id,
        name: req.name,
        secretHash: req.secret_hash,
        last4: req.last4,
        scopes,
        rateLimit: req.rate_limit ?? null,
        expiresAt: req.expires_at ? new Date(req.expires_at) : null,
        projectAccess,
        // Made with an OAuth app's access token (or a key made with one): it dies with that
        // grant. The operator's console acts as the user: its keys are the user's own.
        grantId: req.actor.first_party ? null : (req.actor.grant_id ?? null),
      },
      ({ projectRateLimit, liveKeys }) => {
        if (req.rate_limit !== undefined && req.rate_limit > projectRateLimit) {
          throw new DomainError(
            'invalid_request',
            `rate_limit ${req.rate_limit} exceeds the project's limit of ${projectRateLimit} ` +
              'requests per minute; only an operator can raise the project limit.',
            { param: 'rate_limit' },
          );
        }
        if (liveKeys >= MAX_LIVE_KEYS_PER_PROJECT) {
          throw new DomainError(
            'quota_exceeded',
            `A project can hold at most ${MAX_LIVE_KEYS_PER_PROJECT} live keys; revoke one ` +
              'first.',
          );
        }
      },
    );
    // Deleted since it was authorized.
    if (!row) throw projectNotFound(req.project_id);
    return toApiKey(row);
  }

  async list(req: Req<'keys.list'>): Promise<ListPage<ApiKey>> {
    await authorize(this.projects, req.project_id, req.actor, 'keys.list');
    const page = await this.keys.listForProject(req.project_id, req.limit, req.starting_after);
    if (!page) throw badCursor('a key of this project');
    return page;
  }

  async revoke(req: Req<'keys.revoke'>): Promise<ApiKey> {
    const { key, role } = await this.visibleKey(req.key_id, req.actor);
    assertMayOnKey(role, 'revoke', key.createdBy === req.actor.user_id);
    return this.revokeRow(key.id);
  }

  /**
   * A new secret for the key. The previous one keeps working for the grace period (or stops at
   * once with none). Gateways are told to drop the key either way, so that they ask again and
   * learn the new expiry of the previous secret.
   *
   * Only the key's creator may rotate it (admins may revoke others' keys, never obtain their
   * secrets), and only with a credential that could have made it: every scope it has, no
   * narrower project reach, and no third-party OAuth grant it was not made under (the console,
   * first party, acts as the user). The key keeps all its restrictions.
   */
  async rotate(req: Req<'keys.rotate'>): Promise<Res<'keys.rotate'>> {
    const { key, role } = await this.visibleKey(req.key_id, req.actor);
    if (key.revokedAt) throw keyNotFound(req.key_id);
    assertCurrentSecret(req.actor, 'rotate keys');
    if (key.createdBy !== req.actor.user_id) {
      throw new DomainError(
        'forbidden',
        "Only the key's creator can rotate it, so that nobody else obtains its secret. " +
          'Admins and owners may revoke it instead.',
      );
    }
    assertMay(role, 'keys.rotate_own');
    const missing = key.scopes.filter((s) => !req.actor.scopes.includes(s));
    if (missing.length) {
      throw new DomainError(
        'insufficient_scope',
        `Rotating this key needs a credential with every scope it has; missing: ` +
          `${missing.join(', ')}.`,
        { param: 'scopes' },
      );
    }
    if (key.projectAccess === 'member') {
      assertNotConfined(req.actor, 'rotate a key with project_access "member"');
    }
    if (req.actor.grant_id && !req.actor.first_party && key.grantId !== req.actor.grant_id) {
      throw new DomainError(
        'forbidden',
        'This credential comes from an OAuth grant and can only rotate keys made under that ' +
          'grant.',
      );
    }
    const rotated = await this.keys.rotate({
      id: key.id,
      secretHash: req.secret_hash,
      last4: req.last4,
      graceSeconds: req.grace_period_seconds,
    });
    // Revoked meanwhile.
    if (!rotated) throw keyNotFound(req.key_id);
    await announceKeysRevoked(this.events, [key.id]);
    return {
      ...toApiKey(rotated.key),
      previous_secret_expires_at: isoOrNull(rotated.previousExpiresAt),
    };
  }

  /** Last-use times batched by the gateways; malformed entries are dropped, not fatal. */
  async touch(req: Req<'keys.touch'>): Promise<null> {
    const used = req.used
      .map((u) => ({ keyId: u.key_id, at: new Date(u.at) }))
      .filter((u) => typeof u.keyId === 'string' && !Number.isNaN(u.at.getTime()));
    await this.keys.touch(used);
    return null;
  }

  authenticate(req: Req<'keys.authenticate'>): Promise<KeyPrincipal | null> {
    return this.keys.findUsableByHash(req.secret_hash);
  }

  /** Operator: a key acting as the project's first owner, with every scope. */
  async adminCreate(req: Req<'admin.keys.create'>): Promise<ApiKey> {
    const owner = await this.projects.firstOwner(req.project_id);
    if (!owner) throw projectNotFound(req.project_id);
    return this.create({
      v: 1,
      actor: { user_id: owner, scopes: [...SCOPES] },
      project_id: req.project_id,
      name: req.name,
      secret_hash: req.secret_hash,
      last4: req.last4,
    });
  }

  async adminRevoke(req: Req<'admin.keys.revoke'>): Promise<ApiKey> {
    const key = await this.keys.findById(req.key_id);
    if (!key) throw new DomainError('key_not_found', `No key ${req.key_id}.`, { param: 'key' });
    return this.revokeRow(key.id);
  }

  /**
   * Revokes the keys made under OAuth grants that were revoked (auth-server's event) and tells
   * the gateways. Also run on start and after a lost subscription, for grants gone meanwhile:
   * `findUsableByHash` refuses such keys anyway; this makes them revoked for good.
   */
  async revokeForGrants(grantIds: string[]): Promise<string[]> {
    const ids = await this.keys.revokeForGrants(grantIds);
    await announceKeysRevoked(this.events, ids);
    return ids;
  }

  async revokeOrphaned(): Promise<string[]> {
    const ids = await this.keys.revokeOrphaned();
    await announceKeysRevoked(this.events, ids);
    return ids;
  }

  /**
   * A key of a live project the actor is a member of (within the key's confinement), with the
   * actor's role there; else 404, as for a key that does not exist.
   */
  private async visibleKey(
    keyId: string,
    actor: Actor,
  ): Promise<{ key: KeyRow; role: MemberRole }> {
    const key = await this.keys.findById(keyId);
    if (!key || !withinConfinement(actor, key.projectId)) throw keyNotFound(keyId);
    const role = await this.projects.roleOf(key.projectId, actor.user_id);
    if (!role) throw keyNotFound(keyId);
    return { key, role };
  }

  private async revokeRow(keyId: string): Promise<ApiKey> {
    const row = await this.keys.revoke(keyId);
    await announceKeysRevoked(this.events, [keyId]);
    return toApiKey(row);
  }
}
