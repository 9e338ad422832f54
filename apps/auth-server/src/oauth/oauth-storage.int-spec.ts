/**
 * The OAuth storage against the real Redis and Postgres: what is stored where, in what form,
 * for how long, and that consuming is atomic.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { createPrismaClient, Database } from '@cap/db';
import {
  cleanRedisPrefix,
  createTestDatabase,
  TEST_ENV,
  TestDatabase,
  testQueuePrefix,
} from '@cap/testing';
import { SigningKeysRepository } from '../signing-keys/signing-keys.repository';
import { SigningKeysService } from '../signing-keys/signing-keys.service';
import { GrantsRepository } from './grants.repository';
import { RedisArtifactStore } from './redis-artifacts.store';

const SECRET = 'an-int-spec-sealing-secret-of-32-characters';
const prefix = testQueuePrefix();
let tdb: TestDatabase;
let db: Database;
let redis: Redis;
let store: RedisArtifactStore;
let grants: GrantsRepository;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new Database(createPrismaClient({ url: tdb.url, poolMax: 12 }));
  redis = new Redis(TEST_ENV.redisUrl);
  store = new RedisArtifactStore(redis, prefix);
  grants = new GrantsRepository(db);
});

afterAll(async () => {
  await db.onApplicationShutdown();
  await cleanRedisPrefix(prefix);
  redis.disconnect();
  await tdb.drop();
});

const keysOf = () => redis.keys(`${prefix}:*`);

describe('RedisArtifactStore', () => {
  it('keeps an artifact under the hash of its id, without the id, for its lifetime', async () => {
    const code = 'the-code-value-1234567890';
    await store.upsert('AuthorizationCode', code, { jti: code, grantId: 'g1', exp: 1 }, 60);
    const keys = await keysOf();
    expect(keys.some((k) => k.includes(code))).toBe(false);
    const key = keys.find((k) => k.includes(':oidc:AuthorizationCode:'))!;
    expect(JSON.stringify(await redis.hgetall(key))).not.toContain(code);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await store.find('AuthorizationCode', code)).toEqual({
      jti: code,
      grantId: 'g1',
      exp: 1,
    });
    expect(await store.find('AuthorizationCode', 'another')).toBeUndefined();
  });

  it('consumes once: of 20 concurrent consumers exactly one wins', async () => {
    await store.upsert('AuthorizationCode', 'race', { jti: 'race', grantId: 'g2' }, 60);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.consume('AuthorizationCode', 'race')),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.find('AuthorizationCode', 'race'))?.consumed).toEqual(expect.any(Number));
    expect(await store.consume('AuthorizationCode', 'gone')).toBe(false);
    // Consuming a missing artifact creates nothing.
    expect((await keysOf()).filter((k) => k.endsWith('gone'))).toEqual([]);
  });

  it('revokes every artifact of a grant', async () => {
    await store.upsert('AuthorizationCode', 'a', { jti: 'a', grantId: 'g3' }, 60);
    await store.upsert('AuthorizationCode', 'b', { jti: 'b', grantId: 'g3' }, 30);
    await store.upsert('AuthorizationCode', 'c', { jti: 'c', grantId: 'other' }, 60);
    expect(await redis.ttl(`${prefix}:oidc:grant:g3`)).toBeGreaterThan(55);
    await store.revokeByGrantId('g3');
    expect(await store.find('AuthorizationCode', 'a')).toBeUndefined();
    expect(await store.find('AuthorizationCode', 'b')).toBeUndefined();
    expect(await store.find('AuthorizationCode', 'c')).toBeDefined();
  });

  it('finds a session by uid, and forgets the uid with the session', async () => {
    await store.upsert(
      'Session',
      'cookie-value',
      { jti: 'cookie-value', uid: 'u1', accountId: 'usr_1' },
      60,
    );
    expect(await store.findSessionByUid('u1')).toEqual({ uid: 'u1', accountId: 'usr_1' });
    await store.destroy('Session', 'cookie-value');
    expect(await store.findSessionByUid('u1')).toBeUndefined();
    expect(await store.find('Session', 'cookie-value')).toBeUndefined();
  });
});

describe('GrantsRepository', () => {
  const hash = (v: string) => createHash('sha256').update(v).digest('hex');

  it('consumes a refresh token once under concurrency, and deletes a grant with its tokens', async () => {
    await grants.upsertGrant('gr1', { accountId: 'usr_1', clientId: 'cli_1' }, 3600);
    await grants.upsertRefreshToken(
      hash('rt1'),
      { grantId: 'gr1', clientId: 'cli_1', accountId: 'usr_1' },
      3600,
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, () => grants.consumeRefreshToken(hash('rt1'))),
    );
    expect(results.filter((r) => r.consumed)).toHaveLength(1);
    expect(results.every((r) => r.grantId === 'gr1')).toBe(true);
    expect((await grants.findRefreshToken(hash('rt1')))?.consumedAt).toBeInstanceOf(Date);

    expect(await grants.grantExists('gr1')).toBe(true);
    expect(await grants.findLatestGrantId('usr_1', 'cli_1')).toBe('gr1');
    await grants.deleteGrantAndTokens('gr1');
    expect(await grants.grantExists('gr1')).toBe(false);
    expect(await grants.findRefreshToken(hash('rt1'))).toBeUndefined();
    expect(await grants.findLatestGrantId('usr_1', 'cli_1')).toBeUndefined();
  });

  it('deletes what has expired', async () => {
    await grants.upsertGrant('old', { accountId: 'usr_2', clientId: 'cli_2' }, 3600);
    await db.client.oauthGrant.update({
      where: { id: 'old' },
      data: { expiresAt: new Date(1000) },
    });
    expect(await grants.deleteExpired()).toBeGreaterThanOrEqual(1);
    expect(await grants.findGrant('old')).toBeUndefined();
  });
});

describe('SigningKeysService', () => {
  it('creates one key however many replicas start at once, rotates, and retires by age', async () => {
    const service = () => new SigningKeysService(new SigningKeysRepository(db), SECRET);
    await Promise.all(Array.from({ length: 5 }, () => service().ensureSigningKey()));
    const first = await service().load(900);
    expect(first.publicKeys).toHaveLength(1);
    expect(first.privateKeys[0]).toMatchObject({
      kid: first.signingKid,
      alg: 'ES256',
      d: expect.any(String),
    });
    const stored = await db.client.oauthSigningKey.findUniqueOrThrow({
      where: { kid: first.signingKid },
    });
    expect(stored.privateJwkSealed).not.toContain(first.privateKeys[0].d);
    expect(stored.publicJwk).not.toHaveProperty('d');

    const rotated = await service().rotate();
    expect(rotated.retired).toEqual([first.signingKid]);
    const after = await service().load(900);
    expect(after.signingKid).toBe(rotated.kid);
    expect(after.publicKeys.map((k) => k.kid)).toEqual([rotated.kid, first.signingKid]);

    // Retired longer ago than the retention: no longer published.
    await db.client.oauthSigningKey.update({
      where: { kid: first.signingKid },
      data: { retiredAt: new Date(Date.now() - 901_000) },
    });
    expect((await service().load(900)).publicKeys.map((k) => k.kid)).toEqual([rotated.kid]);
    await expect(
      new SigningKeysService(new SigningKeysRepository(db), `${SECRET}x`).load(900),
    ).rejects.toThrow();
  });
});
