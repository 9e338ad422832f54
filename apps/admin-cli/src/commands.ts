import { hash } from '@node-rs/argon2';
import { generateClientSecret, hashClientSecret, newApiKey } from '@cap/auth';
import {
  DomainError,
  IdentityAdminJobs,
  IdentityPublicJobs,
  isId,
  ProjectsAdminJobs,
  ProjectsPublicJobs,
  SCOPES,
} from '@cap/contracts';
import { RpcClient } from '@cap/queue';

/** The public queues (lookups, acting as a user) and the operator's own (`admin.` jobs). */
export interface Clients {
  identity: RpcClient<IdentityPublicJobs>;
  projects: RpcClient<ProjectsPublicJobs>;
  adminIdentity: RpcClient<IdentityAdminJobs>;
  adminProjects: RpcClient<ProjectsAdminJobs>;
}

/** Parsed flags: a string, a repeated flag's strings, or a switch. */
export type Flags = Record<string, string | string[] | boolean | undefined>;

const MIN_PASSWORD = 10;

function required(flags: Flags, name: string): string {
  const raw = flags[name];
  const value = typeof raw === 'string' ? raw.trim() : '';
  if (!value) throw new DomainError('invalid_request', `--${name} is required.`, { param: name });
  return value;
}

/** The user with `email`, or `user_not_found` naming the flag it came from. */
async function userByEmail(c: Clients, email: string, flag: string) {
  const user = await c.identity.call('users.find-by-email', { v: 1, email });
  if (!user) {
    throw new DomainError('user_not_found', `No user with email ${email}.`, { param: flag });
  }
  return user;
}

/**
 * The operator's commands. Each returns the JSON to print. Secrets are hashed here, before
 * anything goes on a queue; a key's secret is printed once and exists nowhere else.
 */
export const COMMANDS = {
  async 'create-user'(c: Clients, flags: Flags, readPassword: () => Promise<string>) {
    const email = required(flags, 'email');
    const password = await readPassword();
    if (password.length < MIN_PASSWORD) {
      throw new DomainError(
        'invalid_request',
        `The password (read from standard input) must have at least ${MIN_PASSWORD} characters.`,
        { param: 'password' },
      );
    }
    const password_hash = await hash(password, { algorithm: 2 });
    const name = typeof flags.name === 'string' ? flags.name : undefined;
    return c.adminIdentity.call('admin.users.create', { v: 1, email, name, password_hash });
  },

  async 'create-project'(c: Clients, flags: Flags) {
    const owner = await userByEmail(c, required(flags, 'owner'), 'owner');
    return c.projects.call('projects.create', {
      v: 1,
      actor: { user_id: owner.id, scopes: [...SCOPES] },
      name: required(flags, 'name'),
      region: required(flags, 'region'),
    });
  },

  async 'create-key'(c: Clients, flags: Flags) {
    const projectId = required(flags, 'project');
    if (!isId('project', projectId)) {
      throw new DomainError('invalid_request', '--project must be a project id (prj_…).', {
        param: 'project',
      });
    }
    const { secret, ...stored } = newApiKey();
    const key = await c.adminProjects.call('admin.keys.create', {
      v: 1,
      project_id: projectId,
      name: required(flags, 'name'),
      ...stored,
    });
    return { ...key, secret };
  },

  /**
   * Registers a third-party app for a user. A confidential client's secret is generated here,
   * only its SHA-256 is sent, and it is printed once (`client_secret`); `--public` makes a client
   * with no secret, which must use PKCE.
   */
  async 'create-client'(c: Clients, flags: Flags) {
    const owner = await userByEmail(c, required(flags, 'owner'), 'owner');
    const raw = flags['redirect-uri'];
    const redirectUris = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
    if (redirectUris.length === 0) {
      throw new DomainError('invalid_request', '--redirect-uri is required (repeat it for more).', {
        param: 'redirect-uri',
      });
    }
    const isPublic = flags.public === true;
    const secret = isPublic ? undefined : generateClientSecret();
    const client = await c.adminIdentity.call('admin.clients.create', {
      v: 1,
      actor: { user_id: owner.id, scopes: [...SCOPES] },
      name: required(flags, 'name'),
      redirect_uris: redirectUris,
      type: isPublic ? 'public' : 'confidential',
      ...(secret ? { secret_hash: hashClientSecret(secret) } : {}),
    });
    return secret ? { ...client, client_secret: secret } : client;
  },

  async 'revoke-key'(c: Clients, flags: Flags) {
    const keyId = required(flags, 'key');
    if (!isId('key', keyId)) {
      throw new DomainError('invalid_request', '--key must be a key id (key_…).', { param: 'key' });
    }
    return c.adminProjects.call('admin.keys.revoke', { v: 1, key_id: keyId });
  },
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}
