/**
 * Reading, renaming and deleting projects against the real Postgres and Redis. Who may do
 * each is proven in roles.int-spec.ts; here, what each does.
 */
import { sleep } from '@cap/testing';
import { rejects, ServiceFixture } from '../../test/service-fixture';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

describe('projects.get and projects.update', () => {
  it('reads a project and renames it', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const read = await f.projects.get({ v: 1, actor: owner, project_id: prj });
    expect(read).toEqual({
      id: prj,
      name: 'p',
      region: 'us-east',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    const renamed = await f.projects.update({
      v: 1,
      actor: owner,
      project_id: prj,
      name: 'edge-ingest',
    });
    expect(renamed).toEqual({ ...read, name: 'edge-ingest' });
    expect(await f.projects.get({ v: 1, actor: owner, project_id: prj })).toEqual(renamed);
  });

  it('is 404 project_not_found, param project_id, for an unknown project', async () => {
    const owner = await f.user();
    const err = await rejects(
      f.projects.get({ v: 1, actor: owner, project_id: 'prj_nope' }),
      'project_not_found',
      'project_id',
    );
    expect(err.message).toBe('No project prj_nope is visible to this key.');
  });
});

describe('projects.delete', () => {
  it('revokes every key at once, announces them in one event, and keeps the members', async () => {
    const owner = await f.user();
    const dev = await f.user();
    const prj = await f.project(owner, [[dev, 'developer']]);
    const a = await f.issue(owner, prj);
    const b = await f.issue(dev, prj);
    const early = await f.issue(dev, prj);
    const revokedEarlier = await f.keys.revoke({ v: 1, actor: dev, key_id: early.key.id });
    await f.revokedEventsFor([early.key.id]);
    const before = f.revoked.length;

    expect(await f.projects.delete({ v: 1, actor: owner, project_id: prj })).toEqual({
      id: prj,
      deleted: true,
    });

    const keys = await f.db.client.apiKey.findMany({ where: { projectId: prj } });
    expect(keys.every((k) => k.revokedAt !== null)).toBe(true);
    // A key revoked before keeps its first revocation time.
    const earlyRow = keys.find((k) => k.id === early.key.id)!;
    expect(earlyRow.revokedAt!.toISOString().slice(0, 19)).toBe(
      revokedEarlier.revoked_at!.slice(0, 19),
    );
    for (const { hash } of [a, b]) expect(await f.authenticate(hash)).toBeNull();

    const events = await f.revokedEventsFor([a.key.id, b.key.id]);
    expect(events).toEqual([{ v: 1, key_ids: [a.key.id, b.key.id].sort() }]);
    expect(f.revoked.slice(before)).toHaveLength(1);

    const row = await f.db.client.project.findUniqueOrThrow({ where: { id: prj } });
    expect(row.deletedAt).not.toBeNull();
    // Former members keep their memberships (usage stays readable for them for a while).
    expect(await f.db.client.membership.count({ where: { projectId: prj } })).toBe(2);
  });

  it('is 404 afterwards: reading, renaming, deleting again, members and keys', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const { key } = await f.issue(owner, prj);
    await f.projects.delete({ v: 1, actor: owner, project_id: prj });
    const actor = owner;
    await rejects(f.projects.get({ v: 1, actor, project_id: prj }), 'project_not_found');
    await rejects(
      f.projects.update({ v: 1, actor, project_id: prj, name: 'x' }),
      'project_not_found',
    );
    await rejects(f.projects.delete({ v: 1, actor, project_id: prj }), 'project_not_found');
    await rejects(f.members.list({ v: 1, actor, project_id: prj, limit: 10 }), 'project_not_found');
    await rejects(f.keys.list({ v: 1, actor, project_id: prj, limit: 10 }), 'project_not_found');
    await rejects(f.issue(owner, prj), 'project_not_found');
    await rejects(
      f.keys.rotate({ v: 1, actor, key_id: key.id, grace_period_seconds: 0, ...f.newSecret() }),
      'key_not_found',
    );
    const page = await f.projects.list({ v: 1, actor, limit: 100 });
    expect(page.data.map((p) => p.id)).not.toContain(prj);
  });

  it('deletes once when two deletes race: the other is 404, one event', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const { key } = await f.issue(owner, prj);
    const results = await Promise.allSettled([
      f.projects.delete({ v: 1, actor: owner, project_id: prj }),
      f.projects.delete({ v: 1, actor: owner, project_id: prj }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect(failed?.reason).toMatchObject({ code: 'project_not_found' });
    expect(await f.revokedEventsFor([key.id])).toEqual([{ v: 1, key_ids: [key.id] }]);
  });

  it('publishes nothing for a project without live keys', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const before = f.revoked.length;
    await f.projects.delete({ v: 1, actor: owner, project_id: prj });
    await sleep(150);
    expect(f.revoked.length).toBe(before);
  });
});
