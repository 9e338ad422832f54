/**
 * Key rules against the real Postgres and Redis: who may create, list and revoke keys, and
 * which keys authenticate.
 */
import { generateApiKey, hashApiKey, lastFour } from '@cap/auth';
import { Actor, CHANNELS, DomainError, newId, SCOPES } from '@cap/contracts';
import { createPrismaClient, Database, MemberRole } from '@cap/db';
import { EventBus } from '@cap/queue';
import {
  cleanRedisPrefix,
  createTestDatabase,
  TEST_ENV,
  testQueuePrefix,
  TestDatabase,
} from '@cap/testing';
import { ProjectsRepository } from '../projects/projects.repository';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

let tdb: TestDatabase;
let db: Database;
let bus: EventBus;
let listener: EventBus;
let keys: KeysService;
const prefix = testQueuePrefix();
const revokedEvents: unknown[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database(createPrismaClient({ url: tdb.url, poolMax: 4 }));
  bus = new EventBus(TEST_ENV.redisUrl, prefix);
  listener = new EventBus(TEST_ENV.redisUrl, prefix);
  await listener.subscribe(CHANNELS.keyRevoked, (e) => revokedEvents.push(e));
  keys = new KeysService(new KeysRepository(db), new ProjectsRepository(db), bus);
});

afterAll(async () => {
  await db.onApplicationShutdown();
  await bus.close();
  await listener.close();
  await cleanRedisPrefix(prefix);
  await tdb.drop();
});

async function user(): Promise<Actor> {
  const id = newId('user');
  await db.client.user.create({
    data: { id, email: `${id}@example.com`, passwordHash: '$argon2id$test' },
  });
  return { user_id: id, scopes: [...SCOPES] };
}

async function project(owner: Actor, members: Array<[Actor, MemberRole]> = []): Promise<string> {
  const id = newId('project');
  await db.client.project.create({
    data: {
      id,
      name: 'p',
      regionId: 'us-east',
      memberships: {
        create: [
          { userId: owner.user_id, role: 'owner' },
          ...members.map(([a, role]) => ({ userId: a.user_id, role })),
        ],
      },
    },
  });
  return id;
}

async function issue(actor: Actor, projectId: string, extra: { expires_at?: string } = {}) {
  const secret = generateApiKey();
  const key = await keys.create({
    v: 1,
    actor,
    project_id: projectId,
    name: 'k',
    secret_hash: hashApiKey(secret),
    last4: lastFour(secret),
    ...extra,
  });
  return { key, hash: hashApiKey(secret) };
}

const authenticate = (hash: string) => keys.authenticate({ v: 1, secret_hash: hash });

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(DomainError);
  await expect(promise).rejects.toMatchObject({ code });
}

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
      rate_limit: null,
      expires_at: null,
    });
    expect(await authenticate(hashApiKey(generateApiKey()))).toBeNull();
  });

  it('refuses a revoked key', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key, hash } = await issue(owner, prj);
    await keys.revoke({ v: 1, actor: owner, key_id: key.id });
    expect(await authenticate(hash)).toBeNull();
  });

  it('refuses an expired key', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { key, hash } = await issue(owner, prj, {
      expires_at: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(await authenticate(hash)).not.toBeNull();
    await db.client.apiKey.update({
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
    await db.client.membership.delete({
      where: { projectId_userId: { projectId: prj, userId: dev.user_id } },
    });
    expect(await authenticate(hash)).toBeNull();
  });

  it('refuses a key of a deleted project', async () => {
    const owner = await user();
    const prj = await project(owner);
    const { hash } = await issue(owner, prj);
    await db.client.project.update({ where: { id: prj }, data: { deletedAt: new Date() } });
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
      keys.create({
        ...base,
        actor: narrow,
        secret_hash: hashApiKey(secret),
        scopes: ['projects:write'],
      }),
      'insufficient_scope',
    );
    const key = await keys.create({ ...base, actor: narrow, secret_hash: hashApiKey(secret) });
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
    revokedEvents.length = 0;
    await rejects(keys.revoke({ v: 1, actor: dev, key_id: ownerKey.key.id }), 'forbidden');
    const revoked = await keys.revoke({ v: 1, actor: dev, key_id: devKey.key.id });
    expect(revoked.revoked_at).not.toBeNull();
    await keys.revoke({ v: 1, actor: admin, key_id: ownerKey.key.id });

    const deadline = Date.now() + 2_000;
    while (revokedEvents.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(revokedEvents).toEqual(
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
    const first = await keys.revoke({ v: 1, actor: owner, key_id: key.id });
    await new Promise((r) => setTimeout(r, 1100));
    const second = await keys.revoke({ v: 1, actor: owner, key_id: key.id });
    expect(second.revoked_at).toBe(first.revoked_at);
  });

  it('is key_not_found for a stranger', async () => {
    const owner = await user();
    const stranger = await user();
    const prj = await project(owner);
    const { key } = await issue(owner, prj);
    await rejects(keys.revoke({ v: 1, actor: stranger, key_id: key.id }), 'key_not_found');
  });
});

describe('list', () => {
  it('pages newest first with a stable order when creation times tie', async () => {
    const owner = await user();
    const prj = await project(owner);
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await issue(owner, prj)).key.id);
    // Force a tie: the cursor must then order by id.
    await db.client.apiKey.updateMany({
      where: { projectId: prj },
      data: { createdAt: new Date('2026-01-01T00:00:00Z') },
    });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await keys.list({
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
