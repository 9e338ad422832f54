import { Injectable } from '@nestjs/common';
import {
  assertCurrentSecret,
  DomainError,
  IdentityJobs,
  isId,
  ListPage,
  MAX_OAUTH_CLIENTS_PER_USER,
  newId,
  OAuthClient,
} from '@cap/contracts';
import { UsersRepository } from '../users/users.repository';
import { ClientsRepository } from './clients.repository';
import { validateRedirectUris } from './redirect-uri';

type Req<K extends keyof IdentityJobs> = IdentityJobs[K]['req'];

const SHA256_HEX = /^[0-9a-f]{64}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

function clientName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed.length < 1 || trimmed.length > 100 || CONTROL.test(trimmed)) {
    throw new DomainError(
      'invalid_request',
      'The name must be 1 to 100 characters, without control characters.',
      { param: 'name' },
    );
  }
  return trimmed;
}

/** Third-party apps (OAuth clients): registration and listing, for the gateway and the CLI. */
@Injectable()
export class ClientsService {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly users: UsersRepository,
  ) {}

  /**
   * `firstParty` only from the operator's queue (`admin.clients.create`): a first-party client's
   * tokens act as the user themselves (`Actor.first_party`).
   */
  async create(req: Req<'clients.create'>, firstParty = false): Promise<OAuthClient> {
    assertCurrentSecret(req.actor, 'register OAuth clients');
    // An app acts across all of the user's projects: a key confined to one cannot make one.
    if (req.actor.confined_to !== undefined) {
      throw new DomainError(
        'forbidden',
        `This key is confined to project ${req.actor.confined_to} (project_access "own") and ` +
          'cannot register OAuth clients. Use a key with project_access "member".',
      );
    }
    const name = clientName(req.name);
    const redirectUris = validateRedirectUris(req.redirect_uris);
    if (req.type !== 'confidential' && req.type !== 'public') {
      throw new DomainError('invalid_request', 'type must be "confidential" or "public".', {
        param: 'type',
      });
    }
    let secretHash: string | null = null;
    if (req.type === 'confidential') {
      if (typeof req.secret_hash !== 'string' || !SHA256_HEX.test(req.secret_hash)) {
        throw new DomainError(
          'invalid_request',
          'A confidential client needs the SHA-256 (hex) of its secret.',
          { param: 'secret_hash' },
        );
      }
      secretHash = req.secret_hash;
    } else if (req.secret_hash !== undefined) {
      throw new DomainError('invalid_request', 'A public client has no secret.', {
        param: 'secret_hash',
      });
    }
    if (!(await this.users.findById(req.actor.user_id))) {
      throw new DomainError('user_not_found', `No user ${req.actor.user_id}.`);
    }
    const created = await this.clients.create(
      {
        id: newId('client'),
        ownerId: req.actor.user_id,
        name,
        type: req.type,
        redirectUris,
        secretHash,
        firstParty,
      },
      MAX_OAUTH_CLIENTS_PER_USER,
    );
    if (!created) {
      throw new DomainError(
        'quota_exceeded',
        `A user can register at most ${MAX_OAUTH_CLIENTS_PER_USER} OAuth clients.`,
      );
    }
    return created;
  }

  async list(req: Req<'clients.list'>): Promise<ListPage<OAuthClient>> {
    if (req.starting_after !== undefined && !isId('client', req.starting_after)) {
      throw new DomainError('invalid_request', 'starting_after must be a client id (cli_…).', {
        param: 'starting_after',
      });
    }
    const limit = Math.min(Math.max(Math.trunc(req.limit) || 20, 1), 100);
    const page = await this.clients.listForOwner(req.actor.user_id, limit, req.starting_after);
    if (!page) {
      throw new DomainError('invalid_request', 'starting_after is not a client you registered.', {
        param: 'starting_after',
      });
    }
    return page;
  }
}
