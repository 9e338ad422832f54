/**
 * Key rules against the real Postgres and Redis: who may create, list and revoke keys, and
 * which keys authenticate.
 */
import { generateApiKey, hashApiKey, lastFour } from '@cap/auth';
import { Actor, SCOPES } from '@cap/contracts';
import { MemberRole } from '@cap/db';
import { rejects, ServiceFixture } from '../../test/service-fixture';

let fixture: ServiceFixture;

beforeAll(async () => {
  fixture = await ServiceFixture.start();
});

afterAll(async () => {
  await fixture.stop();
});

const user = () => fixture.user();
const project = (owner: Actor, members: Array<[Actor, MemberRole]> = []) =>
  fixture.project(owner, members);
const issue = (actor: Actor, projectId: string, extra: { expires_at?: string } = {}) =>
  fixture.issue(actor, projectId, extra);
const authenticate = (hash: string) => fixture.authenticate(hash);

describe('authenticate', () => {
  it('answers a fresh key with its principal and an unknown hash with null', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key, hash } = await issue(owner, prj);
    expect(await authenticate(hash)).toEqual({
      key_id: key.id,
      user_id: owner.user_id,
      project_id: prj,
      scopes: [...SCOPES],
      // No limit of its own: the project's.
      rate_limit: 600,
      project_access: 'member',
      grant_id: null,
      expires_at: null,
    });
    expect(await authenticate(hashApiKey(generateApiKey()))).toBeNull();
  });

  it('refuses a revoked key', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key, hash } = await issue(owner, prj);
    await fixture.keys.revoke({ v: 1, actor: owner, key_id: key.id });
    expect(await authenticate(hash)).toBeNull();
  });

  it('refuses an expired key', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key, hash } = await issue(owner, prj, {
      expires_at: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(await authenticate(hash)).not.toBeNull();
    await fixture.db.client.apiKey.update({
      where: { id: key.id },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    expect(await authenticate(hash)).toBeNull();
  });

  it('refuses a key whose creator left the project', async () => {
    const owner = await user();
    const dev = await user();
    const prj = await project(owner, [[dev, 'developer']]);
    const { hash } = await issue(dev, prj);
    expect(await authenticate(hash)).not.toBeNull();
    await fixture.db.client.membership.delete({
      where: { projectId_userId: { projectId: prj, userId: dev.user_id } },
    });
    expect(await authenticate(hash)).toBeNull();
  });

  it('refuses a key of a deleted project', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { hash } = await issue(owner, prj);
    await fixture.db.client.project.update({ where: { id: prj }, data: { deletedAt: new Date() } });
    expect(await authenticate(hash)).toBeNull();
  });
});

describe('create', () => {
  it('is project_not_found for a non-member and forbidden for a viewer', async () => {
    const owner = await user();
    const stranger = await user();
    const viewer = await user();
    const prj = await project(owner, [[viewer, 'viewer']]);
    await rejects(issue(stranger, prj), 'project_not_found');
    await rejects(issue(viewer, prj), 'forbidden');
  });

  it('never grants scopes the creating credential lacks, and defaults to its scopes', async () => {
    const owner = await user();
    const prj = await project(owner);
    const narrow: Actor = { ...owner, scopes: ['keys:read', 'keys:write'] };
    const secret = generateApiKey();
    const base = { v: 1 as const, project_id: prj, name: 'k', last4: lastFour(secret) };
    await rejects(
      fixture.keys.create({
        ...base,
        actor: narrow,
        secret_hash: hashApiKey(secret),
        scopes: ['projects:write'],
      }),
      'insufficient_scope',
    );
    const key = await fixture.keys.create({
      ...base,
      actor: narrow,
      secret_hash: hashApiKey(secret),
    });
    expect(key.scopes).toEqual(['keys:read', 'keys:write']);
  });
});

describe('revoke', () => {
  it('lets a developer revoke own keys only; an admin any; publishes the revocation', async () => {
    const owner = await user();
    const dev = await user();
    const admin = await user();
    const prj = await project(owner, [
      [dev, 'developer'],
      [admin, 'admin'],
    ]);
    const ownerKey = await issue(owner, prj);
    const devKey = await issue(dev, prj);
    fixture.revoked.length = 0;
    await rejects(fixture.keys.revoke({ v: 1, actor: dev, key_id: ownerKey.key.id }), 'forbidden');
    const revoked = await fixture.keys.revoke({ v: 1, actor: dev, key_id: devKey.key.id });
    expect(revoked.revoked_at).not.toBeNull();
    await fixture.keys.revoke({ v: 1, actor: admin, key_id: ownerKey.key.id });

    const deadline = Date.now() + 2_000;
    while (fixture.revoked.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(fixture.revoked).toEqual(
      expect.arrayContaining([
        { v: 1, key_ids: [devKey.key.id] },
        { v: 1, key_ids: [ownerKey.key.id] },
      ]),
    );
  });

  it('keeps the first revocation time when revoked twice', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key } = await issue(owner, prj);
    const first = await fixture.keys.revoke({ v: 1, actor: owner, key_id: key.id });
    await new Promise((r) => setTimeout(r, 1100));
    const second = await fixture.keys.revoke({ v: 1, actor: owner, key_id: key.id });
    expect(second.revoked_at).toBe(first.revoked_at);
  });

  it('is key_not_found for a stranger', async () => {
    const owner = await user();
    const stranger = await user();
    const prj = await project(owner);
    const { key } = await issue(owner, prj);
    await rejects(fixture.keys.revoke({ v: 1, actor: stranger, key_id: key.id }), 'key_not_found');
  });
});

describe('list', () => {
  it('pages newest first with a stable order when creation times tie', async () => {
    const owner = await user();
    const prj = await project(owner);
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await issue(owner, prj)).key.id);
    // Force a tie: the cursor must then order by id.
    await fixture.db.client.apiKey.updateMany({
      where: { projectId: prj },
      data: { createdAt: new Date('2026-01-01T00:00:00Z') },
    });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await fixture.keys.list({
        v: 1,
        actor: owner,
        project_id: prj,
        limit: 2,
        starting_after: after,
      });
      seen.push(...page.data.map((k) => k.id));
      if (!page.has_more) break;
      after = page.data[page.data.length - 1].id;
    }
    expect(seen).toEqual([...made].sort().reverse());
  });
});
