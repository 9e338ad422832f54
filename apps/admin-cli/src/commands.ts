import { hash } from '@node-rs/argon2';
import {
  EMAIL_VERIFICATION_TTL_S,
  emailVerificationToken,
  emailVerificationUrl,
  generateClientSecret,
  hashClientSecret,
  newApiKey,
} from '@cap/auth';
import {
  DomainError,
  IdentityAdminJobs,
  IdentityPublicJobs,
  isId,
  isoSeconds,
  MAX_RATE_LIMIT,
  MEMBER_ROLES,
  MemberRole,
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

/** What commands need of the CLI's own configuration. */
export interface CommandConfig {
  EMAIL_VERIFICATION_SECRET: string;
  ISSUER: string;
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
  /** The operator vouches for the address: the user's email is verified from the start. */
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

  /**
   * A verification link for a user, as the auth-server mails it (for local use, where no mail
   * is sent). Computed here from EMAIL_VERIFICATION_SECRET in the CLI's own environment rather
   * than asked of the auth-server: a link in a reply would sit in a Redis reply stream for up
   * to a minute, and queue payloads and Redis never hold secrets. Only the user's id and email
   * cross the queue.
   */
  async 'verification-link'(
    c: Clients,
    flags: Flags,
    _readPassword: () => Promise<string>,
    config: CommandConfig,
  ) {
    const user = await userByEmail(c, required(flags, 'email'), 'email');
    const expiresAt = new Date(Date.now() + EMAIL_VERIFICATION_TTL_S * 1000);
    const token = emailVerificationToken(user, config.EMAIL_VERIFICATION_SECRET, expiresAt);
    return {
      user_id: user.id,
      email: user.email,
      url: emailVerificationUrl(config.ISSUER, token),
      expires_at: isoSeconds(expiresAt),
    };
  },

  /** Adds an existing user to a project directly, with no invitation (the operator vouches). */
  async 'add-member'(c: Clients, flags: Flags) {
    const projectId = required(flags, 'project');
    if (!isId('project', projectId)) {
      throw new DomainError('invalid_request', '--project must be a project id (prj_…).', {
        param: 'project',
      });
    }
    const role = required(flags, 'role');
    if (!(MEMBER_ROLES as readonly string[]).includes(role)) {
      throw new DomainError(
        'invalid_request',
        `--role must be one of ${MEMBER_ROLES.join(', ')}.`,
        {
          param: 'role',
        },
      );
    }
    return c.adminProjects.call('admin.members.add', {
      v: 1,
      project_id: projectId,
      email: required(flags, 'email'),
      role: role as MemberRole,
    });
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
   * with no secret, which must use PKCE. `--first-party` marks the operator's own app (a console
   * at another address): its users' keys are theirs, not bound to its OAuth grant.
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
      ...(flags['first-party'] === true ? { first_party: true } : {}),
    });
    return secret ? { ...client, client_secret: secret } : client;
  },

  /**
   * A project's rate limit (requests per minute): the ceiling of its keys' own limits, and the
   * limit of keys without one. Only operators change it.
   */
  async 'set-project-limit'(c: Clients, flags: Flags) {
    const projectId = required(flags, 'project');
    if (!isId('project', projectId)) {
      throw new DomainError('invalid_request', '--project must be a project id (prj_…).', {
        param: 'project',
      });
    }
    const raw = required(flags, 'limit');
    const limit = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RATE_LIMIT) {
      throw new DomainError(
        'invalid_request',
        `--limit must be an integer from 1 to ${MAX_RATE_LIMIT} (requests per minute).`,
        { param: 'limit' },
      );
    }
    return c.adminProjects.call('admin.projects.set-limit', {
      v: 1,
      project_id: projectId,
      rate_limit: limit,
    });
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
