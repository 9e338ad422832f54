import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from './migrate';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `fn` with a client connected to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A new database with a random name on the server of `adminUrl`, migrated unless
 * `migrated: false`, and a way to drop it: one per test file, so files run in parallel.
 */
export async function createScratchDatabase(
  adminUrl: string,
  options: { migrated?: boolean; prefix?: string } = {},
): Promise<ScratchDatabase> {
  const name = `${options.prefix ?? 'cap_test'}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(adminUrl, name);
  if (options.migrated ?? true) await migrate(url);
  return {
    name,
    url,
    drop: () =>
      withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
