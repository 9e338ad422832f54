import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

export interface EmbeddedDb {
  /** A `DATABASE_URL` every local process can use to reach the embedded database. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (Postgres compiled to WebAssembly) with its data under `dataDir` and serves it
 * on a Unix socket there, so that all apps of `npm start` share one database with no server to
 * install. For development only: every connection shares one Postgres session.
 */
export async function startEmbeddedDb(dataDir: string): Promise<EmbeddedDb> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  // Both packages are ESM-only.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(resolve(dir, 'pgdata'));
  const server = new PGLiteSocketServer({
    db,
    path: resolve(dir, '.s.PGSQL.5432'),
    maxConnections: 64,
  });
  await server.start();
  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
