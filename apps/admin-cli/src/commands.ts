import { hash } from '@node-rs/argon2';
import { generateApiKey, hashApiKey, lastFour } from '@cap/auth';
import { DomainError, IdentityJobs, isId, ProjectsJobs, SCOPES } from '@cap/contracts';
import { RpcClient } from '@cap/queue';

export interface Clients {
  identity: RpcClient<IdentityJobs>;
  projects: RpcClient<ProjectsJobs>;
}

export type Flags = Record<string, string | undefined>;

const MIN_PASSWORD = 10;

function required(flags: Flags, name: string): string {
  const value = flags[name]?.trim();
  if (!value) throw new DomainError('invalid_request', `--${name} is required.`, { param: name });
  return value;
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
    return c.identity.call('users.create', { v: 1, email, name: flags.name, password_hash });
  },

  async 'create-project'(c: Clients, flags: Flags) {
    const email = required(flags, 'owner');
    const owner = await c.identity.call('users.find-by-email', { v: 1, email });
    if (!owner) {
      throw new DomainError('user_not_found', `No user with email ${email}.`, { param: 'owner' });
    }
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
    const secret = generateApiKey();
    const key = await c.projects.call('admin.keys.create', {
      v: 1,
      project_id: projectId,
      name: required(flags, 'name'),
      secret_hash: hashApiKey(secret),
      last4: lastFour(secret),
    });
    return { ...key, secret };
  },

  async 'revoke-key'(c: Clients, flags: Flags) {
    const keyId = required(flags, 'key');
    if (!isId('key', keyId)) {
      throw new DomainError('invalid_request', '--key must be a key id (key_…).', { param: 'key' });
    }
    return c.projects.call('admin.keys.revoke', { v: 1, key_id: keyId });
  },
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}
