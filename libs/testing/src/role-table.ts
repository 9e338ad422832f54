import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MEMBER_ROLES, MemberRole } from '@cap/contracts';
import { REPO_ROOT } from './processes';

/** Where projects-service keeps the one table of what each role of a project may do. */
const ROLE_TABLE_SOURCE = 'apps/projects-service/src/projects/roles.ts';

export type RoleTable = Record<string, readonly MemberRole[]>;

/**
 * The role table of projects-service, read from its source as data: tests of other apps may not
 * import another app's code (Nx module boundaries), yet they should take their expectations
 * from the one table rather than a copy. Reads the role lists (`const X: readonly
 * MemberRole[] = [...]`) and the `ROLE_RULES` entries (`'action': { roles: X, ... }`), and
 * throws when the file no longer has that shape, so the test fails rather than guesses.
 */
function parseRoleTable(source: string): RoleTable {
  const lists = new Map<string, MemberRole[]>();
  for (const m of source.matchAll(/const (\w+): readonly MemberRole\[\] = \[([^\]]*)\]/g)) {
    const roles = [...m[2].matchAll(/'([a-z]+)'/g)].map((r) => r[1]);
    for (const role of roles) {
      if (!(MEMBER_ROLES as readonly string[]).includes(role)) {
        throw new Error(`${m[1]} names an unknown role ${role}`);
      }
    }
    lists.set(m[1], roles as MemberRole[]);
  }
  const actions = /export const ACTIONS = \[([^\]]*)\]/.exec(source)?.[1];
  const rules = /export const ROLE_RULES[^=]*=\s*\{([\s\S]*?)\n\};/.exec(source)?.[1];
  if (!actions || !rules) throw new Error(`${ROLE_TABLE_SOURCE}: ACTIONS or ROLE_RULES not found`);
  const table: RoleTable = {};
  for (const m of rules.matchAll(/'([a-z_.]+)':\s*\{\s*roles:\s*(\w+|\[[^\]]*\])/g)) {
    const roles = m[2].startsWith('[')
      ? ([...m[2].matchAll(/'([a-z]+)'/g)].map((r) => r[1]) as MemberRole[])
      : lists.get(m[2]);
    if (!roles) throw new Error(`${ROLE_TABLE_SOURCE}: unknown role list ${m[2]} for ${m[1]}`);
    table[m[1]] = roles;
  }
  for (const action of [...actions.matchAll(/'([a-z_.]+)'/g)].map((a) => a[1])) {
    if (!table[action]) throw new Error(`${ROLE_TABLE_SOURCE}: no rule parsed for ${action}`);
  }
  return table;
}

export function loadRoleTable(): RoleTable {
  return parseRoleTable(readFileSync(resolve(REPO_ROOT, ROLE_TABLE_SOURCE), 'utf8'));
}

/** Whether `role` may do `action` according to `table`; an unknown action is an error. */
export function roleMay(table: RoleTable, role: MemberRole, action: string): boolean {
  const roles = table[action];
  if (!roles) throw new Error(`the role table has no action ${action}`);
  return roles.includes(role);
}
