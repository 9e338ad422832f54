/**
 * The role table, proven against the real Postgres and Redis: for every action of
 * `ROLE_RULES` and every role, the command a member of that role sends is done when the table
 * allows it and refused with 403 (changing nothing) when it does not; a non-member gets 404.
 * The cases are generated from the table, and `SCENARIOS` must name every action (the
 * compiler insists), so a new action cannot go untested.
 */
import { Actor, MEMBER_ROLES, MemberRole } from '@cap/contracts';
import { rejects, ServiceFixture } from '../../test/service-fixture';
import { Action, ACTIONS, may, withArticle } from './roles';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

/** A project where `actor` has `role`, next to two other owners, a developer and their keys. */
interface Scene {
  projectId: string;
  actor: Actor;
  owner: Actor;
  otherOwner: Actor;
  developer: Actor;
  actorKeyId: string;
  ownerKeyId: string;
}

async function scene(role: MemberRole | null): Promise<Scene> {
  const owner = await f.user();
  const otherOwner = await f.user();
  const developer = await f.user();
  const actor = await f.user();
  const members: Array<[Actor, MemberRole]> = [
    [otherOwner, 'owner'],
    [developer, 'developer'],
  ];
  if (role) members.push([actor, role]);
  const projectId = await f.project(owner, members);
  // Planted, not issued: a viewer (say, a demoted developer) may still have keys.
  // A stranger's key there is one left from a past membership.
  const actorKeyId = (await f.plantKey(actor, projectId)).id;
  const ownerKeyId = (await f.plantKey(owner, projectId)).id;
  return { projectId, actor, owner, otherOwner, developer, actorKeyId, ownerKeyId };
}

/** The command each action stands for, as the member `s.actor` sends it. */
const SCENARIOS: { [A in Action]: (s: Scene) => Promise<unknown> } = {
  'project.read': (s) => f.projects.get({ v: 1, actor: s.actor, project_id: s.projectId }),
  'project.rename': (s) =>
    f.projects.update({ v: 1, actor: s.actor, project_id: s.projectId, name: 'renamed' }),
  'project.delete': (s) => f.projects.delete({ v: 1, actor: s.actor, project_id: s.projectId }),
  'members.list': (s) =>
    f.members.list({ v: 1, actor: s.actor, project_id: s.projectId, limit: 10 }),
  'members.add': async (s) => {
    const newcomer = await f.user();
    return f.invitations.invite({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      email: `${newcomer.user_id.toLowerCase()}@example.com`,
      role: 'developer',
    });
  },
  'members.add_owner': async (s) => {
    const newcomer = await f.user();
    return f.invitations.invite({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      email: `${newcomer.user_id.toLowerCase()}@example.com`,
      role: 'owner',
    });
  },
  'members.remove': (s) =>
    f.members.remove({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      user_id: s.developer.user_id,
    }),
  'members.remove_owner': (s) =>
    f.members.remove({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      user_id: s.otherOwner.user_id,
    }),
  'members.remove_self': (s) =>
    f.members.remove({ v: 1, actor: s.actor, project_id: s.projectId, user_id: s.actor.user_id }),
  'members.change_role': (s) =>
    f.members.updateRole({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      user_id: s.developer.user_id,
      role: 'viewer',
    }),
  'members.change_owner_role': (s) =>
    f.members.updateRole({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      user_id: s.otherOwner.user_id,
      role: 'admin',
    }),
  'keys.list': (s) => f.keys.list({ v: 1, actor: s.actor, project_id: s.projectId, limit: 10 }),
  'keys.create': async (s) => {
    const { secret_hash, last4 } = f.newSecret();
    return f.keys.create({
      v: 1,
      actor: s.actor,
      project_id: s.projectId,
      name: 'k',
      secret_hash,
      last4,
    });
  },
  'keys.revoke_own': (s) => f.keys.revoke({ v: 1, actor: s.actor, key_id: s.actorKeyId }),
  'keys.revoke_any': (s) => f.keys.revoke({ v: 1, actor: s.actor, key_id: s.ownerKeyId }),
  'keys.rotate_own': (s) =>
    f.keys.rotate({
      v: 1,
      actor: s.actor,
      key_id: s.actorKeyId,
      grace_period_seconds: 60,
      ...f.newSecret(),
    }),
};

/** A non-member learns nothing: the project (or the key) does not exist for them. */
const NOT_FOUND_FOR_STRANGERS: { [A in Action]: 'project_not_found' | 'key_not_found' } = {
  'project.read': 'project_not_found',
  'project.rename': 'project_not_found',
  'project.delete': 'project_not_found',
  'members.list': 'project_not_found',
  'members.add': 'project_not_found',
  'members.add_owner': 'project_not_found',
  'members.remove': 'project_not_found',
  'members.remove_owner': 'project_not_found',
  'members.remove_self': 'project_not_found',
  'members.change_role': 'project_not_found',
  'members.change_owner_role': 'project_not_found',
  'keys.list': 'project_not_found',
  'keys.create': 'project_not_found',
  // A stranger has no key of the project: "own" is someone else's, which must not show.
  'keys.revoke_own': 'key_not_found',
  'keys.revoke_any': 'key_not_found',
  'keys.rotate_own': 'key_not_found',
};

const cases = ACTIONS.flatMap((action) =>
  MEMBER_ROLES.map((role) => {
    const allowed = may(role, action);
    return { action, role, allowed, outcome: allowed ? 'is done' : 'is refused with 403' };
  }),
);

describe.each(ACTIONS)('%s', (action) => {
  it.each(cases.filter((c) => c.action === action))(
    'sent by the $role $outcome',
    async ({ role, allowed }) => {
      const s = await scene(role);
      if (allowed) {
        await expect(SCENARIOS[action](s)).resolves.toBeDefined();
      } else {
        const before = await f.snapshot(s.projectId);
        const err = await rejects(SCENARIOS[action](s), 'forbidden');
        // Compound rules (adding an owner is adding a member, and more) may name either part.
        expect(err.message).toMatch(
          new RegExp(`^${withArticle(role)} of this project cannot `, 'i'),
        );
        expect(await f.snapshot(s.projectId)).toEqual(before);
      }
    },
  );

  it('a non-member gets 404 and changes nothing', async () => {
    const s = await scene(null);
    const before = await f.snapshot(s.projectId);
    await rejects(SCENARIOS[action](s), NOT_FOUND_FOR_STRANGERS[action]);
    expect(await f.snapshot(s.projectId)).toEqual(before);
  });
});

it('covers every action with every role', () => {
  expect(cases).toHaveLength(ACTIONS.length * MEMBER_ROLES.length);
  expect(Object.keys(SCENARIOS).sort()).toEqual([...ACTIONS].sort());
});

describe('security: rotating another member’s key', () => {
  it.each(MEMBER_ROLES)(
    'is refused to the %s (403 forbidden, the key and its secret unchanged)',
    async (role) => {
      const s = await scene(role);
      const before = await f.snapshot(s.projectId);
      const err = await rejects(
        f.keys.rotate({
          v: 1,
          actor: s.actor,
          key_id: s.ownerKeyId,
          grace_period_seconds: 604_800,
          ...f.newSecret(),
        }),
        'forbidden',
      );
      // Viewers are stopped by the creator rule too: it comes before the role table.
      expect(err.message).toMatch(/only the key's creator can rotate it/i);
      expect(err.message).toMatch(/may revoke/i);
      expect(await f.snapshot(s.projectId)).toEqual(before);
    },
  );

  it('an owner may still revoke an admin’s key (but not rotate it)', async () => {
    const s = await scene('admin');
    await rejects(
      f.keys.rotate({
        v: 1,
        actor: s.owner,
        key_id: s.actorKeyId,
        grace_period_seconds: 0,
        ...f.newSecret(),
      }),
      'forbidden',
    );
    await expect(
      f.keys.revoke({ v: 1, actor: s.owner, key_id: s.actorKeyId }),
    ).resolves.toMatchObject({ id: s.actorKeyId, revoked_at: expect.any(String) });
  });
});
