import { DomainError, MEMBER_ROLES, MemberRole } from '@cap/contracts';
import { ACTIONS, assertMay, assertMayOnKey, may, ROLE_RULES, withArticle } from './roles';

/*
 * The role table as the product states it (and as the README documents it). The integration
 * tests prove the services obey `ROLE_RULES`; this pins `ROLE_RULES` itself, so a change to
 * who may do what is made here too, on purpose.
 */
const EXPECTED: Record<string, MemberRole[]> = {
  'project.read': ['owner', 'admin', 'developer', 'viewer'],
  'members.list': ['owner', 'admin', 'developer', 'viewer'],
  'keys.list': ['owner', 'admin', 'developer', 'viewer'],
  'members.remove_self': ['owner', 'admin', 'developer', 'viewer'],
  'keys.create': ['owner', 'admin', 'developer'],
  'keys.revoke_own': ['owner', 'admin', 'developer'],
  'keys.rotate_own': ['owner', 'admin', 'developer'],
  'project.rename': ['owner', 'admin'],
  'members.add': ['owner', 'admin'],
  'members.remove': ['owner', 'admin'],
  'members.change_role': ['owner', 'admin'],
  'keys.revoke_any': ['owner', 'admin'],
  'project.delete': ['owner'],
  'members.add_owner': ['owner'],
  'members.remove_owner': ['owner'],
  'members.change_owner_role': ['owner'],
};

describe('ROLE_RULES', () => {
  it('security: has no rule letting anyone rotate another member’s key', () => {
    expect(ACTIONS as readonly string[]).not.toContain('keys.rotate_any');
    expect(ACTIONS).toContain('keys.rotate_own');
  });

  it('is the documented table', () => {
    const actual = Object.fromEntries(ACTIONS.map((a) => [a, [...ROLE_RULES[a].roles].sort()]));
    const expected = Object.fromEntries(
      Object.entries(EXPECTED).map(([a, roles]) => [a, [...roles].sort()]),
    );
    expect(actual).toEqual(expected);
  });

  it('nests the roles: each may do everything the role below it may', () => {
    const ladder: MemberRole[] = ['viewer', 'developer', 'admin', 'owner'];
    for (const action of ACTIONS) {
      for (let i = 1; i < ladder.length; i++) {
        if (may(ladder[i - 1], action))
          expect([action, may(ladder[i], action)]).toEqual([action, true]);
      }
    }
  });

  it('lets the owner do everything', () => {
    expect(ACTIONS.filter((a) => !may('owner', a))).toEqual([]);
  });
});

describe('assertMay', () => {
  it('throws 403 forbidden naming the role and the action', () => {
    expect(() => assertMay('viewer', 'project.rename')).toThrow(
      new DomainError('forbidden', 'A viewer of this project cannot rename it.'),
    );
    expect(() => assertMay('admin', 'project.delete')).toThrow(
      'An admin of this project cannot delete it.',
    );
    expect(() => assertMay('owner', 'project.delete')).not.toThrow();
  });

  it('names roles with the right article', () => {
    expect(MEMBER_ROLES.map(withArticle)).toEqual([
      'an owner',
      'an admin',
      'a developer',
      'a viewer',
    ]);
  });
});

describe('assertMayOnKey', () => {
  it('lets admins revoke any key, developers their own, viewers none', () => {
    for (const verb of ['revoke'] as const) {
      expect(() => assertMayOnKey('admin', verb, false)).not.toThrow();
      expect(() => assertMayOnKey('developer', verb, true)).not.toThrow();
      expect(() => assertMayOnKey('developer', verb, false)).toThrow(
        `A developer of this project cannot ${verb} other members' keys.`,
      );
      expect(() => assertMayOnKey('viewer', verb, true)).toThrow(
        `A viewer of this project cannot ${verb} keys.`,
      );
    }
  });
});
