import { DomainError, MemberRole } from '@cap/contracts';

/**
 * What each role of a project may do: the one table every rule of projects-service reads.
 * Roles nest (viewer ⊂ developer ⊂ admin ⊂ owner), but each action lists its roles outright so
 * the table reads without that knowledge. Non-members see nothing at all: they get a 404 before
 * any of these rules is consulted.
 */
export const ACTIONS = [
  'project.read',
  'project.rename',
  'project.delete',
  'members.list',
  'members.add',
  'members.add_owner',
  'members.remove',
  'members.remove_owner',
  'members.remove_self',
  'members.change_role',
  'members.change_owner_role',
  'keys.list',
  'keys.create',
  'keys.revoke_own',
  'keys.revoke_any',
  'keys.rotate_own',
] as const;

export type Action = (typeof ACTIONS)[number];

interface Rule {
  roles: readonly MemberRole[];
  /** Completes "A <role> of this project cannot …" in the 403 message. */
  denied: string;
}

const ALL: readonly MemberRole[] = ['owner', 'admin', 'developer', 'viewer'];
const DEVELOPER_UP: readonly MemberRole[] = ['owner', 'admin', 'developer'];
const ADMIN_UP: readonly MemberRole[] = ['owner', 'admin'];
const OWNER: readonly MemberRole[] = ['owner'];

/** Exhaustive: adding an action to `ACTIONS` does not compile until it has a rule here. */
export const ROLE_RULES: { readonly [A in Action]: Rule } = {
  'project.read': { roles: ALL, denied: 'read it' },
  'project.rename': { roles: ADMIN_UP, denied: 'rename it' },
  'project.delete': { roles: OWNER, denied: 'delete it' },
  'members.list': { roles: ALL, denied: 'list its members' },
  'members.add': { roles: ADMIN_UP, denied: 'add members' },
  'members.add_owner': { roles: OWNER, denied: 'add an owner' },
  'members.remove': { roles: ADMIN_UP, denied: 'remove other members' },
  'members.remove_owner': { roles: OWNER, denied: 'remove an owner' },
  'members.remove_self': { roles: ALL, denied: 'leave it' },
  // Changing one's own role follows the same rules: a developer cannot promote themselves.
  'members.change_role': { roles: ADMIN_UP, denied: "change members' roles" },
  // Making someone an owner, or changing an owner's role (also one's own).
  'members.change_owner_role': {
    roles: OWNER,
    denied: "make someone an owner or change an owner's role",
  },
  'keys.list': { roles: ALL, denied: 'list its keys' },
  'keys.create': { roles: DEVELOPER_UP, denied: 'create keys' },
  'keys.revoke_own': { roles: DEVELOPER_UP, denied: 'revoke keys' },
  'keys.revoke_any': { roles: ADMIN_UP, denied: "revoke other members' keys" },
  // Rotating is for the key's creator alone (it hands out the secret): there is no `_any`.
  'keys.rotate_own': { roles: DEVELOPER_UP, denied: 'rotate keys' },
};

/** Whether `role` may do `action`. */
export function may(role: MemberRole, action: Action): boolean {
  return ROLE_RULES[action].roles.includes(role);
}

/** The actions inviting someone as `invited` takes: an owner is invited by owners only. */
export function actionsToInvite(invited: MemberRole): Action[] {
  return invited === 'owner' ? ['members.add', 'members.add_owner'] : ['members.add'];
}

/** "an owner", "a viewer": how 403 messages name a role. */
export function withArticle(role: MemberRole): string {
  return /^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`;
}

/** Throws `403 forbidden` unless `role` may do `action`. */
export function assertMay(role: MemberRole, action: Action): void {
  if (!may(role, action)) {
    const who = withArticle(role).replace(/^a/, 'A');
    throw new DomainError(
      'forbidden',
      `${who} of this project cannot ${ROLE_RULES[action].denied}.`,
    );
  }
}

/**
 * For revoking a key: the `_any` action, or the `_own` one when it is the actor's key. (Rotation
 * is the creator's alone; see KeysService.rotate.)
 */
export function assertMayOnKey(role: MemberRole, verb: 'revoke', own: boolean): void {
  if (may(role, `keys.${verb}_any`)) return;
  assertMay(role, own ? `keys.${verb}_own` : `keys.${verb}_any`);
}
