/**
 * Invitations against the real Postgres and Redis (issue 10, item 8): members are no longer
 * added by an email string anyone could have signed up with. Only the holder of the verified
 * address sees and accepts an invitation; inviting says nothing of who has an account.
 */
import { Actor, Invitation, MemberRole } from '@cap/contracts';
import { rejects, ServiceFixture } from '../../test/service-fixture';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

const invite = (actor: Actor, projectId: string, email: string, role: MemberRole = 'developer') =>
  f.invitations.invite({ v: 1, actor, project_id: projectId, email, role });
const accept = (actor: Actor, id: string) =>
  f.invitations.accept({ v: 1, actor, invitation_id: id });
const mine = (actor: Actor) => f.invitations.listMine({ v: 1, actor, limit: 100 });
const roleOf = async (projectId: string, actor: Actor) =>
  (
    await f.db.client.membership.findUnique({
      where: { projectId_userId: { projectId, userId: actor.user_id } },
    })
  )?.role ?? null;

const unique = (label: string) =>
  `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@corp.example`;

describe('security: only the holder of the verified address joins', () => {
  it('an attacker signed up (unverified) with bob’s address neither sees nor accepts', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bobEmail = unique('bob');
    // The attacker got there first: the account has bob's address, never verified.
    const squatter = await f.user({ email: bobEmail, verified: false });
    const invitation = await invite(owner, prj, 'Bob' + bobEmail.slice(3).toUpperCase());
    expect(invitation).toMatchObject({ email: bobEmail, status: 'pending', role: 'developer' });

    expect(await mine(squatter)).toEqual({ data: [], has_more: false });
    await rejects(accept(squatter, invitation.id), 'not_found', 'id');
    expect(await roleOf(prj, squatter)).toBeNull();

    // Once the address is proved (the link reached its holder), the same account may join.
    await f.db.client.user.update({
      where: { id: squatter.user_id },
      data: { emailVerifiedAt: new Date() },
    });
    expect((await mine(squatter)).data.map((i) => i.id)).toEqual([invitation.id]);
    const accepted = await accept(squatter, invitation.id);
    expect(accepted).toMatchObject({ id: invitation.id, status: 'accepted', project_id: prj });
    expect(await roleOf(prj, squatter)).toBe('developer');
  });

  it('another verified user cannot accept it: 404 exactly like an unknown id', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bob = await f.user();
    const mallory = await f.user();
    const invitation = await invite(owner, prj, f.emailOf(bob));
    const theirs = await rejects(accept(mallory, invitation.id), 'not_found', 'id');
    const none = await rejects(accept(mallory, 'inv_doesnotexist'), 'not_found', 'id');
    expect(theirs.message.replace(invitation.id, 'X')).toBe(
      none.message.replace('inv_doesnotexist', 'X'),
    );
    expect((await mine(mallory)).data).toEqual([]);
    expect(await roleOf(prj, mallory)).toBeNull();
    // Bob still can.
    await accept(bob, invitation.id);
    expect(await roleOf(prj, bob)).toBe('developer');
  });

  it('the verified email is read at accept time, not when invited', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bob = await f.user();
    const invitation = await invite(owner, prj, f.emailOf(bob));
    await f.db.client.user.update({
      where: { id: bob.user_id },
      data: { emailVerifiedAt: null },
    });
    await rejects(accept(bob, invitation.id), 'not_found');
  });

  it('answers identically for a registered and an unregistered email', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const registered = await f.user();
    const shape = (i: Invitation) => ({
      ...i,
      id: i.id.replace(/^inv_[0-9A-Za-z]{20}$/, 'inv_X'),
      email: 'E',
      created_at: 'T',
      expires_at: 'T',
    });
    const a = await invite(owner, prj, f.emailOf(registered));
    const b = await invite(owner, prj, unique('nobody'));
    expect(shape(a)).toEqual(shape(b));
    expect(Object.keys(a).sort()).toEqual(
      [
        'created_at',
        'email',
        'expires_at',
        'id',
        'invited_by',
        'project_id',
        'project_name',
        'role',
        'status',
      ].sort(),
    );
    expect(Date.parse(a.expires_at) - Date.parse(a.created_at)).toBe(7 * 86_400_000);
  });

  it('an email of a current member is 409 conflict (members can list each other anyway)', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    await rejects(invite(owner, prj, f.emailOf(dev).toUpperCase()), 'conflict', 'email');
    // A user who belongs to another project only is invited like anyone.
    const elsewhere = await f.user();
    await f.project(elsewhere);
    await expect(invite(owner, prj, f.emailOf(elsewhere))).resolves.toMatchObject({
      status: 'pending',
    });
  });
});

describe('security: a key confined to one project sees no invitations', () => {
  it('lists none, while the same user’s unconfined credential lists them', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bob = await f.user();
    const bobsHome = await f.project(bob);
    const invitation = await invite(owner, prj, f.emailOf(bob));
    expect((await mine(bob)).data.map((i) => i.id)).toEqual([invitation.id]);
    expect(await mine({ ...bob, confined_to: bobsHome })).toEqual({ data: [], has_more: false });
  });
});

describe('security: a removed member leaves no way back', () => {
  it('their pending invitations are revoked with their membership', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const admin = await f.user();
    await f.join(owner, prj, admin, 'admin');
    // The admin, expecting removal, invites another address of theirs as an admin.
    const alt = await f.user();
    const invitation = await invite(admin, prj, f.emailOf(alt), 'admin');
    await f.members.remove({ v: 1, actor: owner, project_id: prj, user_id: admin.user_id });

    expect(await mine(alt)).toEqual({ data: [], has_more: false });
    await rejects(accept(alt, invitation.id), 'not_found', 'id');
    expect(await roleOf(prj, alt)).toBeNull();
    // Invitations others sent are untouched.
    const other = await f.user();
    const kept = await invite(owner, prj, f.emailOf(other));
    expect((await accept(other, kept.id)).status).toBe('accepted');
  });
});

describe('invitations', () => {
  it('expire after 7 days: not listed, not accepted', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bob = await f.user();
    const invitation = await invite(owner, prj, f.emailOf(bob));
    await f.db.client.invitation.update({
      where: { id: invitation.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await mine(bob)).data).toEqual([]);
    await rejects(accept(bob, invitation.id), 'not_found');
    await rejects(
      f.invitations.revoke({ v: 1, actor: owner, project_id: prj, invitation_id: invitation.id }),
      'conflict',
    );
  });

  it('are accepted once; a member cannot accept another; a revoked one is gone', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const bob = await f.user();
    const first = await invite(owner, prj, f.emailOf(bob), 'viewer');
    // Inviting again replaces the pending invitation: the newest one counts.
    const second = await invite(owner, prj, f.emailOf(bob), 'admin');
    await rejects(accept(bob, first.id), 'not_found');
    expect((await mine(bob)).data.map((i) => [i.id, i.role])).toEqual([[second.id, 'admin']]);
    const results = await Promise.allSettled([accept(bob, second.id), accept(bob, second.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await roleOf(prj, bob)).toBe('admin');
    await rejects(accept(bob, second.id), 'not_found');

    const carol = await f.user();
    const revoked = await invite(bob, prj, f.emailOf(carol));
    const listed = await f.invitations.listForProject({
      v: 1,
      actor: owner,
      project_id: prj,
      limit: 10,
    });
    expect(listed.data.map((i) => i.id)).toEqual([revoked.id]);
    const dev = await f.user();
    await f.join(owner, prj, dev, 'developer');
    await rejects(
      f.invitations.revoke({ v: 1, actor: dev, project_id: prj, invitation_id: revoked.id }),
      'forbidden',
    );
    const done = await f.invitations.revoke({
      v: 1,
      actor: bob,
      project_id: prj,
      invitation_id: revoked.id,
    });
    expect(done.status).toBe('revoked');
    await rejects(accept(carol, revoked.id), 'not_found');
    expect(
      (await f.invitations.listForProject({ v: 1, actor: dev, project_id: prj, limit: 10 })).data,
    ).toEqual([]);
  });

  it('of a project are hidden from non-members, and its deletion voids them', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const stranger = await f.user();
    const bob = await f.user();
    const invitation = await invite(owner, prj, f.emailOf(bob));
    await rejects(
      f.invitations.listForProject({ v: 1, actor: stranger, project_id: prj, limit: 10 }),
      'project_not_found',
    );
    await rejects(
      f.invitations.revoke({
        v: 1,
        actor: stranger,
        project_id: prj,
        invitation_id: invitation.id,
      }),
      'project_not_found',
    );
    await rejects(invite(stranger, prj, f.emailOf(stranger)), 'project_not_found');
    await f.projects.delete({ v: 1, actor: owner, project_id: prj });
    expect((await mine(bob)).data).toEqual([]);
    await rejects(accept(bob, invitation.id), 'not_found');
  });
});
