import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
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
  const socket = resolve(dir, '.s.PGSQL.5432');
  await removeStaleSocket(socket);
  const db = await PGlite.create(resolve(dir, 'pgdata'));
  const server = new PGLiteSocketServer({ db, path: socket, maxConnections: 64 });
  await server.start();
  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * A socket file left by a process that died without closing it (a crash, `kill -9`) would make
 * listening fail with EADDRINUSE: it is removed when nothing answers on it. A socket something
 * still answers on is another running server's, and is an error.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const answer = await new Promise<'live' | 'stale' | 'absent'>((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done('live');
    });
    probe.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ENOENT' ? 'absent' : 'stale'),
    );
  });
  if (answer === 'live') {
    throw new Error(`another process serves the embedded database at ${path}`);
  }
  if (answer === 'stale') await rm(path, { force: true });
}
