/**
 * The key model's security rules (issue 10, items 1, 2, 3, 4 and 7), against the real Postgres
 * and Redis: rotation is the creator's alone and never widens a credential, a key can be
 * confined to its project, keys made with an OAuth access token die with the grant, and a
 * key's rate limit and a project's key count are capped.
 */
import pino from 'pino';
import { newApiKey } from '@cap/auth';
import {
  Actor,
  CHANNELS,
  MAX_LIVE_KEYS_PER_PROJECT,
  newId,
  TokenRevokedEvent,
} from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { TEST_ENV } from '@cap/testing';
import { rejects, ServiceFixture } from '../../test/service-fixture';
import { GrantRevocationsListener } from './grant-revocations.listener';

let f: ServiceFixture;

beforeAll(async () => {
  f = await ServiceFixture.start();
});

afterAll(async () => {
  await f.stop();
});

const rotate = (actor: Actor, keyId: string) =>
  f.keys.rotate({ v: 1, actor, key_id: keyId, grace_period_seconds: 60, ...f.newSecret() });

const create = (actor: Actor, projectId: string, extra: Record<string, unknown> = {}) =>
  f.keys.create({ v: 1, actor, project_id: projectId, name: 'k', ...newApiKey(), ...extra });

/** An OAuth grant row, as auth-server stores it. */
async function grant(userId: string, expiresInS = 3600): Promise<string> {
  const id = `grant-${newId('key').slice(4)}`;
  await f.db.client.oauthGrant.create({
    data: {
      id,
      accountId: userId,
      clientId: 'cli_test',
      payload: {},
      expiresAt: new Date(Date.now() + expiresInS * 1000),
    },
  });
  return id;
}

describe('security: rotation never hands out more than the rotating credential has', () => {
  it('a keys:write-only credential of the creator cannot rotate a full-scope key', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const full = await f.issue(owner, prj);
    const before = await f.snapshot(prj);
    const err = await rejects(
      rotate({ ...owner, scopes: ['keys:write'] }, full.key.id),
      'insufficient_scope',
      'scopes',
    );
    expect(err.message).toMatch(/every scope/);
    expect(await f.snapshot(prj)).toEqual(before);
    // With every scope it has, the creator may.
    await expect(rotate(owner, full.key.id)).resolves.toMatchObject({ id: full.key.id });
  });

  it('a rotated key keeps its scopes, rate limit, confinement and grant', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const g = await grant(owner.user_id);
    const actor: Actor = { ...owner, grant_id: g };
    const key = await create(actor, prj, {
      scopes: ['projects:read', 'keys:write'],
      rate_limit: 50,
      project_access: 'own',
    });
    const { secret_hash, last4 } = f.newSecret();
    await f.keys.rotate({
      v: 1,
      actor: { ...actor, confined_to: prj },
      key_id: key.id,
      grace_period_seconds: 0,
      secret_hash,
      last4,
    });
    expect(await f.authenticate(secret_hash)).toMatchObject({
      key_id: key.id,
      scopes: ['projects:read', 'keys:write'],
      rate_limit: 50,
      project_access: 'own',
      grant_id: g,
    });
  });

  it('a confined credential cannot rotate an unconfined key', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const wide = await f.issue(owner, prj);
    await rejects(rotate({ ...owner, confined_to: prj }, wide.key.id), 'forbidden');
  });

  it('an OAuth-grant credential cannot rotate a key made outside that grant', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const plain = await f.issue(owner, prj);
    const err = await rejects(
      rotate({ ...owner, grant_id: await grant(owner.user_id) }, plain.key.id),
      'forbidden',
    );
    expect(err.message).toMatch(/grant/);
  });
});

describe('security: a key confined to its project (project_access "own")', () => {
  async function confinedWorld() {
    const owner = await f.user();
    const home = await f.project(owner);
    const other = await f.project(owner);
    const otherKey = await f.issue(owner, other);
    const issued = await create(owner, home, { project_access: 'own' });
    expect(issued.project_access).toBe('own');
    const actor: Actor = { ...owner, confined_to: home };
    return { owner, home, other, otherKey, actor };
  }

  it('sees its creator’s other projects, their keys and members as absent', async () => {
    const { home, other, otherKey, actor } = await confinedWorld();
    const before = await f.snapshot(other);
    const pid = { v: 1 as const, actor, project_id: other };
    await rejects(f.projects.get(pid), 'project_not_found');
    await rejects(f.projects.update({ ...pid, name: 'x' }), 'project_not_found');
    await rejects(f.projects.delete(pid), 'project_not_found');
    await rejects(f.members.list({ ...pid, limit: 10 }), 'project_not_found');
    await rejects(f.members.remove({ ...pid, user_id: actor.user_id }), 'project_not_found');
    await rejects(f.keys.list({ ...pid, limit: 10 }), 'project_not_found');
    await rejects(create(actor, other, { project_access: 'own' }), 'project_not_found');
    await rejects(f.keys.revoke({ v: 1, actor, key_id: otherKey.key.id }), 'key_not_found');
    await rejects(rotate(actor, otherKey.key.id), 'key_not_found');
    expect(await f.snapshot(other)).toEqual(before);
    // Its own project works as for any key of its creator.
    await expect(f.projects.get({ v: 1, actor, project_id: home })).resolves.toMatchObject({
      id: home,
    });
  });

  it('lists only its project and cannot create projects', async () => {
    const { home, actor, owner } = await confinedWorld();
    const listed = await f.projects.list({ v: 1, actor, limit: 100 });
    expect(listed.data.map((p) => p.id)).toEqual([home]);
    expect((await f.projects.list({ v: 1, actor: owner, limit: 100 })).data).toHaveLength(2);
    const err = await rejects(
      f.projects.create({ v: 1, actor, name: 'n', region: 'us-east' }),
      'forbidden',
    );
    expect(err.message).toMatch(/confined to project .* cannot create projects/);
  });

  it('makes only confined keys (by default too), never a "member" one', async () => {
    const { home, actor } = await confinedWorld();
    const err = await rejects(create(actor, home, { project_access: 'member' }), 'forbidden');
    expect(err.message).toMatch(/project_access "member"/);
    const made = await create(actor, home);
    expect(made.project_access).toBe('own');
  });

  it('authenticates with project_access "own"; the default key is "member"', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const { secret_hash, last4 } = newApiKey();
    await f.keys.create({
      v: 1,
      actor: owner,
      project_id: prj,
      name: 'ci',
      secret_hash,
      last4,
      project_access: 'own',
    });
    expect(await f.authenticate(secret_hash)).toMatchObject({ project_access: 'own' });
    const plain = await f.issue(owner, prj);
    expect(plain.key.project_access).toBe('member');
    expect(await f.authenticate(plain.hash)).toMatchObject({ project_access: 'member' });
  });
});

describe('security: keys made with an OAuth access token die with the grant', () => {
  it('stop authenticating when the grant is deleted or has expired', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const g = await grant(owner.user_id);
    const { secret_hash, last4 } = newApiKey();
    const key = await f.keys.create({
      v: 1,
      actor: { ...owner, grant_id: g, client_id: 'cli_test' },
      project_id: prj,
      name: 'from an app',
      secret_hash,
      last4,
    });
    const principal = await f.authenticate(secret_hash);
    expect(principal).toMatchObject({ key_id: key.id, grant_id: g });
    // The principal expires no later than the grant, so caches let go of it on time.
    const grantExpiry = (await f.db.client.oauthGrant.findUniqueOrThrow({ where: { id: g } }))
      .expiresAt;
    // (In whole seconds, like every time of the API.)
    expect(Date.parse(principal!.expires_at!)).toBe(
      Math.floor(grantExpiry.getTime() / 1000) * 1000,
    );

    await f.db.client.oauthGrant.update({
      where: { id: g },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(await f.authenticate(secret_hash)).toBeNull();
    await f.db.client.oauthGrant.delete({ where: { id: g } });
    expect(await f.authenticate(secret_hash)).toBeNull();
    // A key of the same user made without the grant is unaffected.
    const plain = await f.issue(owner, prj);
    expect(await f.authenticate(plain.hash)).not.toBeNull();
  });

  it('are revoked and announced when auth-server announces the grant revoked', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const g = await grant(owner.user_id);
    const other = await grant(owner.user_id);
    const bound = await create({ ...owner, grant_id: g }, prj);
    const boundToo = await create({ ...owner, grant_id: g, confined_to: prj }, prj);
    const unrelated = await create({ ...owner, grant_id: other }, prj);
    const subscriber = new EventBus(TEST_ENV.redisUrl, f.prefix);
    const publisher = new EventBus(TEST_ENV.redisUrl, f.prefix);
    try {
      const listener = new GrantRevocationsListener(subscriber, f.keys, pino({ level: 'silent' }));
      await listener.onApplicationBootstrap();
      const event: TokenRevokedEvent = { v: 1, jtis: [], grant_ids: [g] };
      await publisher.publish(CHANNELS.tokenRevoked, event);
      const events = await f.revokedEventsFor([bound.id, boundToo.id]);
      expect(events).toEqual([{ v: 1, key_ids: [bound.id, boundToo.id].sort() }]);
      const rows = await f.db.client.apiKey.findMany({
        where: { id: { in: [bound.id, boundToo.id, unrelated.id] } },
        orderBy: { id: 'asc' },
      });
      expect(Object.fromEntries(rows.map((r) => [r.id, r.revokedAt !== null]))).toEqual({
        [bound.id]: true,
        [boundToo.id]: true,
        [unrelated.id]: false,
      });
    } finally {
      await subscriber.close();
      await publisher.close();
    }
  });

  it('are swept up when the grant went while nobody listened', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const g = await grant(owner.user_id);
    const key = await create({ ...owner, grant_id: g }, prj);
    await f.db.client.oauthGrant.delete({ where: { id: g } });
    expect(await f.keys.revokeOrphaned()).toContain(key.id);
    const row = await f.db.client.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.revokedAt).toBeInstanceOf(Date);
  });

  it('except the console’s (first party): its keys are the user’s and outlive its grant', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const g = await grant(owner.user_id);
    const consoleActor: Actor = {
      ...owner,
      grant_id: g,
      client_id: 'cli_console',
      first_party: true,
    };
    const made = await create(consoleActor, prj);
    const row = await f.db.client.apiKey.findUniqueOrThrow({ where: { id: made.id } });
    expect(row.grantId).toBeNull();
    // Signing out of the console revokes its grant: the key stays.
    expect(await f.keys.revokeForGrants([g])).toEqual([]);
    await f.db.client.oauthGrant.delete({ where: { id: g } });
    expect(await f.keys.revokeOrphaned()).not.toContain(made.id);
    // A later console session (another grant) may rotate it, as the user could with a key.
    const later: Actor = { ...consoleActor, grant_id: await grant(owner.user_id) };
    await expect(rotate(later, made.id)).resolves.toMatchObject({ id: made.id });
    // A third-party app's grant still may not.
    const app: Actor = { ...owner, grant_id: await grant(owner.user_id), client_id: 'cli_app' };
    await rejects(rotate(app, made.id), 'forbidden');
  });
});

describe('security: rate limits and caps', () => {
  it('refuses a key rate_limit above the project’s (400, naming the limit)', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const before = await f.snapshot(prj);
    const err = await rejects(
      create(owner, prj, { rate_limit: 601 }),
      'invalid_request',
      'rate_limit',
    );
    expect(err.message).toMatch(/project's limit of 600 requests per minute/);
    expect(await f.snapshot(prj)).toEqual(before);
    await expect(create(owner, prj, { rate_limit: 600 })).resolves.toMatchObject({
      rate_limit: 600,
    });
  });

  it('an operator raises or lowers the project limit; keys get the lesser of the two', async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    const own = await f.issue(owner, prj);
    const { secret_hash, last4 } = newApiKey();
    await f.keys.create({
      v: 1,
      actor: owner,
      project_id: prj,
      name: 'fast',
      secret_hash,
      last4,
      rate_limit: 500,
    });
    expect(await f.projects.adminSetLimit({ v: 1, project_id: prj, rate_limit: 5000 })).toEqual({
      project_id: prj,
      rate_limit: 5000,
    });
    // Gateways are told to ask again about the project's keys.
    expect((await f.revokedEventsFor([own.key.id]))[0].key_ids).toContain(own.key.id);
    expect(await f.authenticate(own.hash)).toMatchObject({ rate_limit: 5000 });
    await expect(create(owner, prj, { rate_limit: 5000 })).resolves.toBeDefined();
    await f.projects.adminSetLimit({ v: 1, project_id: prj, rate_limit: 100 });
    expect(await f.authenticate(secret_hash)).toMatchObject({ rate_limit: 100 });
    await rejects(
      f.projects.adminSetLimit({ v: 1, project_id: prj, rate_limit: 0 }),
      'invalid_request',
      'limit',
    );
    await rejects(
      f.projects.adminSetLimit({ v: 1, project_id: 'prj_nope', rate_limit: 10 }),
      'project_not_found',
    );
  });

  it(`caps a project at ${MAX_LIVE_KEYS_PER_PROJECT} live keys, race-safely (409 quota_exceeded)`, async () => {
    const owner = await f.user();
    const prj = await f.project(owner);
    // 95 live keys, and some that no longer count: revoked and expired ones.
    const rows = Array.from({ length: 99 }, (_, i) => {
      const { secret_hash, last4 } = newApiKey();
      return {
        id: newId('key'),
        projectId: prj,
        createdBy: owner.user_id,
        name: `k${i}`,
        secretHash: secret_hash,
        last4,
        scopes: ['projects:read'],
        revokedAt: i < 2 ? new Date() : null,
        expiresAt: i >= 2 && i < 4 ? new Date(Date.now() - 1000) : null,
      };
    });
    await f.db.client.apiKey.createMany({ data: rows });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => create(owner, prj)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(r.reason).toMatchObject({ code: 'quota_exceeded' });
      expect(String((r.reason as Error).message)).toContain(`${MAX_LIVE_KEYS_PER_PROJECT}`);
    }
    // Revoking one makes room for one.
    const live = await f.db.client.apiKey.findFirstOrThrow({
      where: { projectId: prj, revokedAt: null, expiresAt: null },
    });
    await f.keys.revoke({ v: 1, actor: owner, key_id: live.id });
    await expect(create(owner, prj)).resolves.toBeDefined();
    await rejects(create(owner, prj), 'quota_exceeded');
  });
});
