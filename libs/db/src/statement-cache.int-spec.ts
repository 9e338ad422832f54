/**
 * Prepared statements (`createPrismaClient`): each connection parses a query once, on real
 * Postgres and on the embedded PGlite, whose one shared session all connections use.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPrismaClient, PrismaClient } from './prisma';
import { createScratchDatabase, ScratchDatabase } from './scratch-database';

const REPO_ROOT = resolve(__dirname, '../../..');

const listProjects = (prisma: PrismaClient, userId: string) =>
  prisma.project.findMany({
    where: { deletedAt: null, memberships: { some: { userId } } },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 21,
    select: { id: true, name: true },
  });

async function seed(prisma: PrismaClient): Promise<void> {
  await prisma.user.create({
    data: { id: 'usr_stmt', email: 'stmt@example.com', name: 'S', passwordHash: 'x' },
  });
  await prisma.project.create({
    data: {
      id: 'prj_stmt',
      name: 'p',
      regionId: 'us-east',
      memberships: { create: { userId: 'usr_stmt', role: 'owner' } },
    },
  });
}

describe('prepared statements on Postgres', () => {
  let tdb: ScratchDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    // libs/db cannot use libs/testing (which is built on it).
    tdb = await createScratchDatabase(
      process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    );
    // One connection, so the session asked is the one that ran the queries.
    prisma = createPrismaClient({ url: tdb.url, poolMax: 1 });
    await seed(prisma);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await tdb.drop();
  });

  it('prepares a query once per connection and binds it after', async () => {
    const ours = async () =>
      (
        await prisma.$queryRawUnsafe<Array<{ statement: string }>>(
          'SELECT statement FROM pg_prepared_statements',
        )
      ).filter((s) => s.statement.includes('"projects"'));
    expect(await listProjects(prisma, 'usr_stmt')).toEqual([{ id: 'prj_stmt', name: 'p' }]);
    const once = await ours();
    expect(once.length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 20; i++) await listProjects(prisma, i % 2 ? 'usr_stmt' : 'usr_other');
    expect(await ours()).toHaveLength(once.length);
    expect(await listProjects(prisma, 'usr_other')).toEqual([]);
  });
});

describe('prepared statements on the embedded PGlite (one shared session)', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stmt-pglite-'));
    server = spawn(
      process.execPath,
      ['-r', '@swc-node/register', resolve(REPO_ROOT, 'scripts/embedded-db.ts')],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, BENCH_DATA_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    url = await new Promise<string>((done, fail) => {
      let err = '';
      server.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      server.stdout?.once('data', (d: Buffer) => done(d.toString().trim()));
      server.once('exit', (code) => fail(new Error(`embedded-db exited ${code}: ${err}`)));
    });
  }, 120_000);

  afterAll(async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  });

  it('lets many connections of several clients prepare the same queries without colliding', async () => {
    // Two clients stand for two apps of `npm start`, each with a pool of several connections.
    const a = createPrismaClient({ url, poolMax: 3 });
    const b = createPrismaClient({ url, poolMax: 3 });
    try {
      await seed(a);
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          listProjects(i % 2 ? a : b, i % 3 ? 'usr_stmt' : 'usr_other'),
        ),
      );
      results.forEach((rows, i) =>
        expect(rows).toEqual(i % 3 ? [{ id: 'prj_stmt', name: 'p' }] : []),
      );
      // A transaction among them, as repositories run them.
      const [count] = await a.$transaction([
        a.project.count(),
        a.membership.count({ where: { userId: 'usr_stmt' } }),
      ]);
      expect(count).toBe(1);
    } finally {
      await Promise.all([a.$disconnect(), b.$disconnect()]);
    }
  });
});
