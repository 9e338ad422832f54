/**
 * OAuth client registration against the real Postgres: the per-user cap holds under concurrent
 * registrations, and a key confined to one project cannot register an app.
 */
import { DomainError, MAX_OAUTH_CLIENTS_PER_USER, newId, SCOPES } from '@cap/contracts';
import { createPrismaClient, Database } from '@cap/db';
import { createTestDatabase, TestDatabase } from '@cap/testing';
import { UsersRepository } from '../users/users.repository';
import { ClientsRepository } from './clients.repository';
import { ClientsService } from './clients.service';

let tdb: TestDatabase;
let db: Database;
let clients: ClientsService;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database(createPrismaClient({ url: tdb.url, poolMax: 8 }));
  clients = new ClientsService(new ClientsRepository(db), new UsersRepository(db));
});

afterAll(async () => {
  await db.onApplicationShutdown();
  await tdb.drop();
});

async function user(): Promise<string> {
  const id = newId('user');
  await db.client.user.create({
    data: { id, email: `${id.toLowerCase()}@example.com`, passwordHash: '$argon2id$test' },
  });
  return id;
}

const register = (userId: string, extra: { confined_to?: string } = {}) =>
  clients.create({
    v: 1,
    actor: { user_id: userId, scopes: [...SCOPES], ...extra },
    name: 'app',
    redirect_uris: ['https://app.example.com/cb'],
    type: 'public',
  });

describe('security: OAuth clients per user', () => {
  it(`at most ${MAX_OAUTH_CLIENTS_PER_USER}, also when registered concurrently (409)`, async () => {
    const owner = await user();
    const results = await Promise.allSettled(
      Array.from({ length: MAX_OAUTH_CLIENTS_PER_USER + 6 }, () => register(owner)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(
      MAX_OAUTH_CLIENTS_PER_USER,
    );
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect(r.reason).toBeInstanceOf(DomainError);
      expect(r.reason).toMatchObject({ code: 'quota_exceeded' });
    }
    expect(await db.client.oauthClient.count({ where: { ownerId: owner } })).toBe(
      MAX_OAUTH_CLIENTS_PER_USER,
    );
    // Another user is not affected.
    await expect(register(await user())).resolves.toMatchObject({ type: 'public' });
  });

  it('a key confined to its project cannot register one (403)', async () => {
    const owner = await user();
    await expect(register(owner, { confined_to: 'prj_1' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect(await db.client.oauthClient.count({ where: { ownerId: owner } })).toBe(0);
  });
});
