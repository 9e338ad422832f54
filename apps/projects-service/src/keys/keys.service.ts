import { Injectable } from '@nestjs/common';
import {
  ApiKey,
  CHANNELS,
  DomainError,
  KeyPrincipal,
  KeyRevokedEvent,
  ListPage,
  newId,
  ProjectsJobs,
  SCOPES,
} from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { ProjectsRepository, Role } from '../projects/projects.repository';
import { KeysRepository, toApiKey } from './keys.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

const MAY_CREATE_KEYS: ReadonlySet<Role> = new Set(['owner', 'admin', 'developer']);
const MAY_REVOKE_ANY_KEY: ReadonlySet<Role> = new Set(['owner', 'admin']);

function projectNotFound(projectId: string): DomainError {
  return new DomainError('project_not_found', `No project ${projectId} is visible to this key.`, {
    param: 'project_id',
  });
}

@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeysRepository,
    private readonly projects: ProjectsRepository,
    private readonly events: EventBus,
  ) {}

  async create(req: Req<'keys.create'>): Promise<ApiKey> {
    const role = await this.projects.roleOf(req.project_id, req.actor.user_id);
    if (!role) throw projectNotFound(req.project_id);
    if (!MAY_CREATE_KEYS.has(role)) {
      throw new DomainError('forbidden', `A ${role} of this project cannot create keys.`);
    }
    // A key never gets more than the credential that created it.
    const scopes = req.scopes ?? req.actor.scopes.filter((s) => SCOPES.some((k) => k === s));
    const excess = scopes.filter((s) => !req.actor.scopes.includes(s));
    if (excess.length) {
      throw new DomainError(
        'insufficient_scope',
        `A key cannot be given scopes its creator lacks: ${excess.join(', ')}.`,
        { param: 'scopes' },
      );
    }
    const row = await this.keys.create({
      id: newId('key'),
      projectId: req.project_id,
      createdBy: req.actor.user_id,
      name: req.name,
      secretHash: req.secret_hash,
      last4: req.last4,
      scopes,
      rateLimit: req.rate_limit ?? null,
      expiresAt: req.expires_at ? new Date(req.expires_at) : null,
    });
    return toApiKey(row);
  }

  async list(req: Req<'keys.list'>): Promise<ListPage<ApiKey>> {
    const role = await this.projects.roleOf(req.project_id, req.actor.user_id);
    if (!role) throw projectNotFound(req.project_id);
    const page = await this.keys.listForProject(req.project_id, req.limit, req.starting_after);
    if (!page) {
      throw new DomainError('invalid_request', 'starting_after is not a key of this project.', {
        param: 'starting_after',
      });
    }
    return page;
  }

  async revoke(req: Req<'keys.revoke'>): Promise<ApiKey> {
    const notFound = new DomainError(
      'key_not_found',
      `No key ${req.key_id} is visible to this key.`,
      {
        param: 'id',
      },
    );
    const key = await this.keys.findById(req.key_id);
    if (!key) throw notFound;
    const role = await this.projects.roleOf(key.projectId, req.actor.user_id);
    if (!role) throw notFound;
    if (!MAY_REVOKE_ANY_KEY.has(role) && key.createdBy !== req.actor.user_id) {
      throw new DomainError('forbidden', `A ${role} of this project can only revoke own keys.`);
    }
    return this.revokeRow(key.id);
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

  private async revokeRow(keyId: string): Promise<ApiKey> {
    const row = await this.keys.revoke(keyId);
    const event: KeyRevokedEvent = { v: 1, key_ids: [keyId] };
    await this.events.publish(CHANNELS.keyRevoked, event);
    return toApiKey(row);
  }
}
