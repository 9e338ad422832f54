/**
 * Members against the real Postgres and Redis: listing with the users' names, the operator's
 * direct add by email (members invite otherwise: security-invitations.int-spec.ts),
 * removing (and what happens to the removed member's keys), changing roles, and the last owner.
 * Who may do each is proven in projects/roles.int-spec.ts.
 */
import { Actor, MemberRole } from '@cap/contracts';
import { sleep } from '@cap/testing';
import { rejects, ServiceFixture } from '../../test/service-fixture';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

const remove = (actor: Actor, projectId: string, userId: string) =>
  f.members.remove({ v: 1, actor, project_id: projectId, user_id: userId });

const setRole = (actor: Actor, projectId: string, userId: string, role: MemberRole) =>
  f.members.updateRole({ v: 1, actor, project_id: projectId, user_id: userId, role });

async function roleIn(projectId: string, userId: string): Promise<MemberRole | undefined> {
  const row = await f.db.client.membership.findUnique({
    where: { projectId_userId: { projectId, userId } },
    select: { role: true },
  });
  return row?.role;
}

describe('members.list', () => {
  it('lists members with email and name, oldest first, in pages', async () => {
    const owner = await f.user({ name: 'Ada' });
    const others = [];
    for (let i = 0; i < 4; i++) others.push(await f.user());
    const prj = await f.project(owner);
    for (const o of others) {
      await f.members.adminAdd({
        v: 1,
        project_id: prj,
        email: `${o.user_id.toLowerCase()}@example.com`,
        role: 'viewer',
      });
    }
    const first = await f.members.list({ v: 1, actor: owner, project_id: prj, limit: 1 });
    expect(first).toEqual({
      data: [
        {
          user_id: owner.user_id,
          email: `${owner.user_id.toLowerCase()}@example.com`,
          name: 'Ada',
          role: 'owner',
          created_at: expect.stringMatching(/Z$/),
        },
      ],
      has_more: true,
    });
    const rest = await f.members.list({
      v: 1,
      actor: owner,
      project_id: prj,
      limit: 10,
      starting_after: owner.user_id,
    });
    expect(rest.has_more).toBe(false);
    expect(rest.data.map((m) => m.user_id)).toEqual(others.map((o) => o.user_id));
  });

  it('orders members added at the same instant by user id, across pages', async () => {
    const owner = await f.user();
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await f.user());
    const prj = await f.project(
      owner,
      others.map((o) => [o, 'developer']),
    );
    await f.db.client.membership.updateMany({
      where: { projectId: prj },
      data: { createdAt: new Date('2026-01-01T00:00:00Z') },
    });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await f.members.list({
        v: 1,
        actor: owner,
        project_id: prj,
        limit: 2,
        starting_after: after,
      });
      seen.push(...page.data.map((m) => m.user_id));
      if (!page.has_more) break;
      after = page.data[page.data.length - 1].user_id;
    }
    expect(seen).toEqual([owner, ...others].map((u) => u.user_id).sort());
  });

  it('refuses a cursor that is not a member', async () => {
    const owner = await f.user();
    const stranger = await f.user();
    const prj = await f.project(owner);
    await rejects(
      f.members.list({
        v: 1,
        actor: owner,
        project_id: prj,
        limit: 10,
        starting_after: stranger.user_id,
      }),
      'invalid_request',
      'starting_after',
    );
  });
});

describe('admin.members.add (the operator adds directly)', () => {
  it('finds the user by email whatever its case, and answers the member', async () => {
    const owner = await f.user();
    const newcomer = await f.user({ email: 'grace.hopper@example.com', name: 'Grace' });
    const prj = await f.project(owner);
    const member = await f.members.adminAdd({
      v: 1,
      project_id: prj,
      email: '  Grace.Hopper@EXAMPLE.com ',
      role: 'admin',
    });
    expect(member).toEqual({
      user_id: newcomer.user_id,
      email: 'grace.hopper@example.com',
      name: 'Grace',
      role: 'admin',
      created_at: expect.stringMatching(/Z$/),
    });
    // The new admin can act at once.
    await f.projects.update({ v: 1, actor: newcomer, project_id: prj, name: 'renamed' });
  });

  it('is 404 user_not_found, param email, for an unknown email', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    await rejects(
      f.members.adminAdd({
        v: 1,
        project_id: prj,
        email: 'nobody@example.com',
        role: 'viewer',
      }),
      'user_not_found',
      'email',
    );
  });

  it('is 409 conflict, param email, for a member already there, whatever the role', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    for (const role of ['developer', 'admin'] as const) {
      await rejects(
        f.members.adminAdd({
          v: 1,
          project_id: prj,
          email: `${dev.user_id.toLowerCase()}@example.com`,
          role,
        }),
        'conflict',
        'email',
      );
    }
    const row = await f.db.client.membership.findUniqueOrThrow({
      where: { projectId_userId: { projectId: prj, userId: dev.user_id } },
    });
    expect(row.role).toBe('developer');
  });
});

describe('members.remove', () => {
  it("revokes and publishes the member's live keys of the project", async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    const k1 = await f.issue(dev, prj);
    const k2 = await f.issue(dev, prj);
    const gone = await f.issue(dev, prj);
    await f.keys.revoke({ v: 1, actor: dev, key_id: gone.key.id });
    const ownerKey = await f.issue(owner, prj);
    await f.revokedEventsFor([gone.key.id]);
    expect(await f.authenticate(k1.hash)).not.toBeNull();

    expect(await remove(owner, prj, dev.user_id)).toEqual({ id: dev.user_id, deleted: true });

    const events = await f.revokedEventsFor([k1.key.id, k2.key.id, ownerKey.key.id]);
    expect(events).toEqual([{ v: 1, key_ids: [k1.key.id, k2.key.id].sort() }]);
    expect(await f.authenticate(k1.hash)).toBeNull();
    expect(await f.authenticate(k2.hash)).toBeNull();
    expect(await f.authenticate(ownerKey.hash)).not.toBeNull();
    const rows = await f.db.client.apiKey.findMany({
      where: { id: { in: [k1.key.id, k2.key.id] } },
    });
    expect(rows.map((r) => r.revokedAt)).toEqual([expect.any(Date), expect.any(Date)]);
    await rejects(f.projects.get({ v: 1, actor: dev, project_id: prj }), 'project_not_found');
  });

  it('lets any member leave, and announces nothing when they had no keys', async () => {
    const owner = await f.user();
    const viewer = await f.user();
    const prj = await f.project(owner, [[viewer, 'viewer']]);
    const before = f.revoked.length;
    await remove(viewer, prj, viewer.user_id);
    await sleep(150);
    expect(f.revoked.length).toBe(before);
    expect(await f.db.client.membership.count({ where: { projectId: prj } })).toBe(1);
  });

  it('is 404 not_found, param user_id, for a user who is not a member', async () => {
    const owner = await f.user();
    const stranger = await f.user();
    const prj = await f.project(owner);
    await rejects(remove(owner, prj, stranger.user_id), 'not_found', 'user_id');
    await rejects(remove(owner, prj, 'usr_unknown'), 'not_found', 'user_id');
  });

  it('never removes the last owner, whoever asks', async () => {
    const owner = await f.user();
    const admin = await f.user();
    const prj = await f.project(owner, [[admin, 'admin']]);
    const err = await rejects(remove(owner, prj, owner.user_id), 'conflict');
    expect(err.message).toMatch(/last owner/);
    await rejects(remove(admin, prj, owner.user_id), 'forbidden');
    expect(await f.db.client.membership.count({ where: { projectId: prj } })).toBe(2);
  });

  it('lets an owner leave when another owner stays; the last one then cannot', async () => {
    const first = await f.user();
    const second = await f.user();
    const prj = await f.project(first);
    await f.members.adminAdd({
      v: 1,
      project_id: prj,
      email: `${second.user_id.toLowerCase()}@example.com`,
      role: 'owner',
    });
    await remove(first, prj, first.user_id);
    await rejects(remove(second, prj, second.user_id), 'conflict');
  });

  it('keeps an owner when two owners remove each other at the same time', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await f.user();
      const b = await f.user();
      const prj = await f.project(a, [[b, 'owner']]);
      const results = await Promise.allSettled([
        remove(a, prj, b.user_id),
        remove(b, prj, a.user_id),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const owners = await f.db.client.membership.count({
        where: { projectId: prj, role: 'owner' },
      });
      expect(owners).toBe(1);
    }
  });
});

describe('members.update_role', () => {
  it('lets an admin demote a developer and a viewer, answering the member as listed', async () => {
    const owner = await f.user();
    const admin = await f.user();
    const dev = await f.user({ name: 'Dev' });
    const viewer = await f.user();
    const prj = await f.project(owner, [
      [admin, 'admin'],
      [dev, 'developer'],
      [viewer, 'viewer'],
    ]);
    const listed = await f.members.list({ v: 1, actor: owner, project_id: prj, limit: 10 });
    const devListed = listed.data.find((m) => m.user_id === dev.user_id)!;

    expect(await setRole(admin, prj, dev.user_id, 'viewer')).toEqual({
      ...devListed,
      role: 'viewer',
    });
    expect(await setRole(admin, prj, viewer.user_id, 'developer')).toMatchObject({
      user_id: viewer.user_id,
      role: 'developer',
    });
    expect(await roleIn(prj, dev.user_id)).toBe('viewer');
    expect(await roleIn(prj, viewer.user_id)).toBe('developer');
    // The demoted developer is a viewer from the next command on.
    await rejects(
      f.keys.create({ v: 1, actor: dev, project_id: prj, name: 'k', ...f.newSecret() }),
      'forbidden',
    );
  });

  it("keeps the member's keys, which act with the new role", async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    const key = await f.issue(dev, prj);
    await setRole(owner, prj, dev.user_id, 'viewer');
    expect(await f.authenticate(key.hash)).toMatchObject({ key_id: key.key.id });
    await setRole(owner, prj, dev.user_id, 'admin');
    await f.projects.update({ v: 1, actor: dev, project_id: prj, name: 'renamed by dev' });
  });

  it('refuses an admin making someone an owner, or changing an owner’s role', async () => {
    const owner = await f.user();
    const secondOwner = await f.user();
    const admin = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [
      [secondOwner, 'owner'],
      [admin, 'admin'],
      [dev, 'developer'],
    ]);
    const before = await f.snapshot(prj);
    for (const [userId, role] of [
      [dev.user_id, 'owner'],
      [admin.user_id, 'owner'],
      [secondOwner.user_id, 'admin'],
      [secondOwner.user_id, 'owner'],
    ] as const) {
      const err = await rejects(setRole(admin, prj, userId, role), 'forbidden');
      expect(err.message).toBe(
        "An admin of this project cannot make someone an owner or change an owner's role.",
      );
    }
    expect(await f.snapshot(prj)).toEqual(before);
  });

  it('lets an owner promote to owner and demote another owner', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    expect(await setRole(owner, prj, dev.user_id, 'owner')).toMatchObject({ role: 'owner' });
    // The new owner may now demote the first one.
    expect(await setRole(dev, prj, owner.user_id, 'viewer')).toMatchObject({ role: 'viewer' });
    expect(await roleIn(prj, owner.user_id)).toBe('viewer');
  });

  it('never demotes the last owner, also when the owner asks for themselves', async () => {
    const owner = await f.user();
    const admin = await f.user();
    const prj = await f.project(owner, [[admin, 'admin']]);
    for (const role of ['admin', 'developer', 'viewer'] as const) {
      const err = await rejects(setRole(owner, prj, owner.user_id, role), 'conflict', 'role');
      expect(err.message).toMatch(/last owner/);
    }
    // Setting the owner's role to owner again changes nothing and is no error.
    expect(await setRole(owner, prj, owner.user_id, 'owner')).toMatchObject({ role: 'owner' });
    await rejects(setRole(admin, prj, owner.user_id, 'admin'), 'forbidden');
    expect(await roleIn(prj, owner.user_id)).toBe('owner');
  });

  it('lets an owner step down when another owner stays', async () => {
    const a = await f.user();
    const b = await f.user();
    const prj = await f.project(a, [[b, 'owner']]);
    await setRole(a, prj, a.user_id, 'admin');
    expect(await roleIn(prj, a.user_id)).toBe('admin');
    await rejects(setRole(b, prj, b.user_id, 'admin'), 'conflict', 'role');
  });

  it('holds the caller to the same rules for their own role', async () => {
    const owner = await f.user();
    const admin = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [
      [admin, 'admin'],
      [dev, 'developer'],
    ]);
    await rejects(setRole(dev, prj, dev.user_id, 'admin'), 'forbidden');
    await rejects(setRole(dev, prj, dev.user_id, 'viewer'), 'forbidden');
    await rejects(setRole(admin, prj, admin.user_id, 'owner'), 'forbidden');
    expect(await setRole(admin, prj, admin.user_id, 'developer')).toMatchObject({
      role: 'developer',
    });
    // Now a developer: no more role changes.
    await rejects(setRole(admin, prj, dev.user_id, 'viewer'), 'forbidden');
  });

  it('refuses a viewer and a developer with 403, changing nothing', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const viewer = await f.user();
    const prj = await f.project(owner, [
      [dev, 'developer'],
      [viewer, 'viewer'],
    ]);
    const before = await f.snapshot(prj);
    const err = await rejects(setRole(viewer, prj, dev.user_id, 'viewer'), 'forbidden');
    expect(err.message).toBe("A viewer of this project cannot change members' roles.");
    await rejects(setRole(dev, prj, viewer.user_id, 'developer'), 'forbidden');
    expect(await f.snapshot(prj)).toEqual(before);
  });

  it('is 404 not_found, param user_id, for a user who is not a member of the project', async () => {
    const owner = await f.user();
    const elsewhere = await f.user();
    const prj = await f.project(owner);
    // A member of another project is no member of this one.
    await f.project(elsewhere);
    await rejects(setRole(owner, prj, elsewhere.user_id, 'viewer'), 'not_found', 'user_id');
    await rejects(setRole(owner, prj, 'usr_unknown', 'viewer'), 'not_found', 'user_id');
    expect(await roleIn(prj, elsewhere.user_id)).toBeUndefined();
  });

  it('is 404 project_not_found for a non-member and for a deleted project', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const stranger = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    await rejects(setRole(stranger, prj, dev.user_id, 'viewer'), 'project_not_found');
    await f.projects.delete({ v: 1, actor: owner, project_id: prj });
    await rejects(setRole(owner, prj, dev.user_id, 'viewer'), 'project_not_found');
    expect(await roleIn(prj, dev.user_id)).toBe('developer');
  });

  it('keeps an owner when two owners demote each other at the same time', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await f.user();
      const b = await f.user();
      const prj = await f.project(a, [[b, 'owner']]);
      const results = await Promise.allSettled([
        setRole(a, prj, b.user_id, 'admin'),
        setRole(b, prj, a.user_id, 'admin'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const owners = await f.db.client.membership.count({
        where: { projectId: prj, role: 'owner' },
      });
      expect(owners).toBe(1);
    }
  });

  it('holds an actor demoted meanwhile to their new role (read under the lock)', async () => {
    const a = await f.user();
    const b = await f.user();
    const dev = await f.user();
    const prj = await f.project(a, [
      [b, 'owner'],
      [dev, 'developer'],
    ]);
    let promote: Promise<unknown> | undefined;
    // b, still an owner when the request is authorised, waits for the project's lock while b
    // is made an admin: once it has the lock, b may no longer make anyone an owner.
    await f.db.client.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM projects WHERE id = ${prj} FOR UPDATE`;
      promote = setRole(b, prj, dev.user_id, 'owner').catch((e: unknown) => e);
      await waitForLockWaiter();
      await tx.membership.update({
        where: { projectId_userId: { projectId: prj, userId: b.user_id } },
        data: { role: 'admin' },
      });
    });
    expect(await promote).toMatchObject({ code: 'forbidden' });
    expect(await roleIn(prj, dev.user_id)).toBe('developer');
  });
});

/** Until a statement of this database waits for a lock (or 5 s). */
async function waitForLockWaiter(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [{ n }] = await f.db.client.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (n > 0) return;
    await sleep(50);
  }
  throw new Error('no statement waited for the project lock');
}

describe('security: a demoted member’s pending invitations', () => {
  it('are revoked when the new role could not send them', async () => {
    const owner = await f.user();
    const admin = await f.user();
    const coOwner = await f.user();
    const prj = await f.project(owner, [
      [admin, 'admin'],
      [coOwner, 'owner'],
    ]);
    const invite = (actor: Actor, role: MemberRole) =>
      f.invitations.invite({
        v: 1,
        actor,
        project_id: prj,
        email: `${role}-${Math.random().toString(36).slice(2)}@example.com`,
        role,
      });
    const byAdmin = await invite(admin, 'admin');
    const ownerInvite = await invite(coOwner, 'owner');
    const ownerAdminInvite = await invite(coOwner, 'admin');
    const byOwner = await invite(owner, 'developer');

    // An owner made admin keeps the admin invitations they sent, not the owner one.
    await setRole(owner, prj, coOwner.user_id, 'admin');
    // An admin made developer may invite no one: all of theirs go.
    await setRole(owner, prj, admin.user_id, 'developer');

    const status = async (id: string) =>
      (await f.db.client.invitation.findUniqueOrThrow({ where: { id } })).revokedAt;
    expect(await status(byAdmin.id)).toBeInstanceOf(Date);
    expect(await status(ownerInvite.id)).toBeInstanceOf(Date);
    expect(await status(ownerAdminInvite.id)).toBeNull();
    expect(await status(byOwner.id)).toBeNull();
  });
});

describe('security: a key never outlives its creator’s membership', () => {
  it('removal revokes the member’s keys of that project only; re-adding brings none back', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    const elsewhere = await f.project(dev);
    const mine = await f.issue(dev, prj);
    const other = await f.issue(dev, elsewhere);

    await remove(owner, prj, dev.user_id);
    const revoked = await f.db.client.apiKey.findUniqueOrThrow({ where: { id: mine.key.id } });
    expect(revoked.revokedAt).toBeInstanceOf(Date);

    // Back in the project (however they rejoin): the old key stays dead, and listed as revoked.
    await f.db.client.membership.create({
      data: { projectId: prj, userId: dev.user_id, role: 'developer' },
    });
    expect(await f.authenticate(mine.hash)).toBeNull();
    const listed = await f.keys.list({ v: 1, actor: dev, project_id: prj, limit: 10 });
    expect(listed.data.find((k) => k.id === mine.key.id)).toMatchObject({
      revoked_at: expect.any(String),
    });
    // Their key of another project is untouched.
    expect(await f.authenticate(other.hash)).toMatchObject({ key_id: other.key.id });
  });
});
