/**
 * Members against the real Postgres and Redis: listing with the users' names, the operator's
 * direct add by email (members invite otherwise: security-invitations.int-spec.ts),
 * removing (and what happens to the removed member's keys), and the last owner. Who may do
 * each is proven in projects/roles.int-spec.ts.
 */
import { Actor } from '@cap/contracts';
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
