import { Client } from 'pg';

/** The rows of some tables, each row as canonical JSON (ignored columns left out), sorted. */
export type DbSnapshot = Record<string, string[]>;

/** Tables whose rows a request of the public API can create, change or delete. */
const TENANT_TABLES = [
  'users',
  'projects',
  'memberships',
  'api_keys',
  'support_tickets',
  'oauth_clients',
  'oauth_grants',
  'oauth_refresh_tokens',
  'regions',
] as const;

/**
 * Reads whole tables of a test database with `pg`, for before/after comparisons. Columns in
 * `ignore` (e.g. `last_used_at`, written in batches in the background) are left out.
 */
export class DbSnapshotter {
  private constructor(private readonly client: Client) {}

  static async connect(url: string): Promise<DbSnapshotter> {
    const client = new Client({ connectionString: url });
    await client.connect();
    return new DbSnapshotter(client);
  }

  async snapshot(
    tables: readonly string[] = TENANT_TABLES,
    ignore: readonly string[] = ['last_used_at'],
  ): Promise<DbSnapshot> {
    const out: DbSnapshot = {};
    for (const table of tables) {
      if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
      const { rows } = await this.client.query<{ row: Record<string, unknown> }>(
        `SELECT to_jsonb(t) AS row FROM ${table} t`,
      );
      out[table] = rows
        .map(({ row }) => {
          const kept = Object.keys(row)
            .filter((column) => !ignore.includes(column))
            .sort()
            .map((column) => [column, row[column]]);
          return JSON.stringify(Object.fromEntries(kept));
        })
        .sort();
    }
    return out;
  }

  /** How many rows of `table` match `where` (a trusted SQL condition with $1… parameters). */
  async count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
    if (!/^[a-z_]+$/.test(table)) throw new Error(`not a table name: ${table}`);
    const { rows } = await this.client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE ${where}`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
    return (await this.client.query<R>(sql, params)).rows;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Rows that appeared in or disappeared from each table between two snapshots. */
export function snapshotDiff(
  before: DbSnapshot,
  after: DbSnapshot,
): Record<string, { added: string[]; removed: string[] }> {
  const diff: Record<string, { added: string[]; removed: string[] }> = {};
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = new Set(before[table] ?? []);
    const is = new Set(after[table] ?? []);
    const added = [...is].filter((r) => !was.has(r));
    const removed = [...was].filter((r) => !is.has(r));
    if (added.length || removed.length) diff[table] = { added, removed };
  }
  return diff;
}
