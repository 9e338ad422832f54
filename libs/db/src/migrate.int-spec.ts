import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createScratchDatabase,
  ScratchDatabase as TestDatabase,
  withClient,
} from './scratch-database';

// libs/db cannot use libs/testing (which is built on it): its createTestDatabase, from here.
const createTestDatabase = (options: { migrated?: boolean } = {}) =>
  createScratchDatabase(
    process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    options,
  );
import { migrate, MIGRATIONS_DIR } from './migrate';

// The migration runner against the real Postgres, each scenario on a fresh, empty database.

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  started_at: Date;
}

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  databases.push(db);
  return db;
}

/** A copy of the committed migrations that a test may change. */
async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cap-migrations-'));
  tempDirs.push(dir);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

const bookkeeping = (url: string) =>
  withClient(url, async (c) => {
    const { rows } = await c.query<MigrationRow>(
      'SELECT * FROM "_prisma_migrations" ORDER BY migration_name, started_at',
    );
    return rows;
  });

const tableExists = (url: string, table: string) =>
  withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string | null }>('SELECT to_regclass($1) AS name', [
      `public.${table}`,
    ]);
    return rows[0].name !== null;
  });

async function committedMigrations(): Promise<string[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function checksumOf(dir: string, name: string): Promise<string> {
  const sql = await readFile(join(dir, name, 'migration.sql'));
  return createHash('sha256').update(sql).digest('hex');
}

let names: string[];

beforeAll(async () => {
  names = await committedMigrations();
});

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('migrate', () => {
  it('finds the committed migrations', () => {
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });

  it('applies every migration to an empty database and records each one', async () => {
    const db = await emptyDatabase();
    expect(await tableExists(db.url, 'users')).toBe(false);

    const result = await migrate(db.url);

    expect(result).toEqual({ applied: names, skipped: [] });
    const rows = await bookkeeping(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      expect(row.checksum).toBe(await checksumOf(MIGRATIONS_DIR, row.migration_name));
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
    // The migrations really ran: their tables and seed data are there.
    for (const table of ['users', 'regions', 'projects', 'memberships', 'api_keys']) {
      expect(await tableExists(db.url, table)).toBe(true);
    }
    const regions = await withClient(db.url, (c) => c.query('SELECT id FROM regions'));
    expect(regions.rowCount).toBeGreaterThan(0);

    // A second run applies nothing and changes nothing.
    expect(await migrate(db.url)).toEqual({ applied: [], skipped: names });
    expect(await bookkeeping(db.url)).toEqual(rows);
  });

  it('applies only the migrations added since the last run', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    await migrate(db.url, dir);

    const added = '29991231000000_add_probe';
    await mkdir(join(dir, added));
    await writeFile(join(dir, added, 'migration.sql'), 'CREATE TABLE "probe" ("id" TEXT);\n');

    expect(await migrate(db.url, dir)).toEqual({ applied: [added], skipped: names });
    expect(await tableExists(db.url, 'probe')).toBe(true);
    const rows = await bookkeeping(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual([...names, added]);
    expect(rows.at(-1)!.checksum).toBe(await checksumOf(dir, added));
  });

  it('refuses to run when an applied migration was changed afterwards', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    await migrate(db.url, dir);
    const before = await bookkeeping(db.url);

    const changed = names[0];
    await appendFile(join(dir, changed, 'migration.sql'), '\n-- an innocent-looking edit\n');
    const added = '29991231000000_after_the_edit';
    await mkdir(join(dir, added));
    await writeFile(join(dir, added, 'migration.sql'), 'CREATE TABLE "after_edit" ("id" TEXT);\n');

    await expect(migrate(db.url, dir)).rejects.toThrow(
      `Migration ${changed} was changed after it was applied.`,
    );
    // Nothing after the changed migration ran, and the bookkeeping is untouched.
    expect(await tableExists(db.url, 'after_edit')).toBe(false);
    expect(await bookkeeping(db.url)).toEqual(before);
  });

  it('rolls a failing migration back entirely, throws, and applies it once fixed', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    const broken = '29991231000000_broken';
    await mkdir(join(dir, broken));
    const sql = join(dir, broken, 'migration.sql');
    await writeFile(
      sql,
      [
        'CREATE TABLE "half_done" ("id" TEXT PRIMARY KEY);',
        `INSERT INTO "regions" ("id", "name") VALUES ('zz-half', 'Half done');`,
        'SELECT * FROM "no_such_table";',
      ].join('\n'),
    );

    const failure = await migrate(db.url, dir).then(
      () => new Error('migrate resolved'),
      (err: unknown) => err as Error,
    );
    expect(failure.message).toMatch(new RegExp(`^Migration ${broken} failed: .*no_such_table`));

    // The earlier migrations stay applied; nothing of the failed one remains.
    expect(await tableExists(db.url, 'half_done')).toBe(false);
    const seeded = await withClient(db.url, (c) =>
      c.query(`SELECT 1 FROM regions WHERE id = 'zz-half'`),
    );
    expect(seeded.rowCount).toBe(0);
    const rows = await bookkeeping(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);

    // Fixed, it applies on the next run (a failed run left no lock or half-written row behind).
    await writeFile(sql, 'CREATE TABLE "half_done" ("id" TEXT PRIMARY KEY);\n');
    expect(await migrate(db.url, dir)).toEqual({ applied: [broken], skipped: names });
    expect(await tableExists(db.url, 'half_done')).toBe(true);
  });

  it('refuses to run after a migration that started but never finished', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    await migrate(db.url, dir);
    // What a crash in the middle of a non-transactional step would leave behind.
    await withClient(db.url, (c) =>
      c.query(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = $1`, [
        names[0],
      ]),
    );

    await expect(migrate(db.url, dir)).rejects.toThrow(
      `Migration ${names[0]} failed earlier; resolve it before migrating again.`,
    );
  });

  it('lets two concurrent runs both succeed, applying each migration exactly once', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    // A slow migration keeps the first runner busy while the second one waits on the lock.
    const slow = '29991231000000_slow';
    await mkdir(join(dir, slow));
    await writeFile(
      join(dir, slow, 'migration.sql'),
      'SELECT pg_sleep(0.5);\nCREATE TABLE "slow_probe" ("id" TEXT);\n',
    );
    const all = [...names, slow];

    const results = await Promise.all([migrate(db.url, dir), migrate(db.url, dir)]);

    const [first, second] = results[0].applied.length ? results : [results[1], results[0]];
    expect(first).toEqual({ applied: all, skipped: [] });
    expect(second).toEqual({ applied: [], skipped: all });
    const rows = await bookkeeping(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(all);
    expect(await tableExists(db.url, 'slow_probe')).toBe(true);
  });

  it('releases its lock and connection when the database cannot be migrated', async () => {
    const db = await emptyDatabase();
    const dir = await migrationsCopy();
    await mkdir(join(dir, '00000000000000_fails_first'));
    await writeFile(join(dir, '00000000000000_fails_first', 'migration.sql'), 'SELECT 1/0;');

    await expect(migrate(db.url, dir)).rejects.toThrow(/fails_first failed: division by zero/);

    const sessions = await withClient(db.url, async (c) => {
      const locks = await c.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      const others = await c.query(`SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      return { locks: locks.rowCount, others: others.rowCount };
    });
    expect(sessions).toEqual({ locks: 0, others: 0 });
  });
});
