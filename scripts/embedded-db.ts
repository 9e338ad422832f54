/**
 * The embedded database of `npm start` (PGlite on a Unix socket), migrated, in a process of its
 * own as under `npm start`: for the bench's embedded row and the tests that need PGlite outside
 * Jest (whose CommonJS cannot load it). Prints its `DATABASE_URL`; stops on SIGTERM. Data under
 * `BENCH_DATA_DIR` (a temporary directory the caller removes).
 */
import { migrate, startEmbeddedDb } from '@cap/db';

async function main(): Promise<void> {
  const dir = process.env.BENCH_DATA_DIR;
  if (!dir) throw new Error('BENCH_DATA_DIR is required');
  const db = await startEmbeddedDb(dir);
  await migrate(db.url);
  process.stdout.write(`${db.url}\n`);
  process.once('SIGTERM', () => {
    void db.stop().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
