import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { getDMMF } from '@prisma/internals';
import { Client } from 'pg';
import { createScratchDatabase, ScratchDatabase as TestDatabase } from './scratch-database';

// libs/db cannot use libs/testing (which is built on it): its createTestDatabase, from here.
const createTestDatabase = (options: { migrated?: boolean } = {}) =>
  createScratchDatabase(
    process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    options,
  );

/*
 * The drift guard. Prisma's schema engine (`prisma migrate diff`) cannot be downloaded here, so
 * this compares the database the committed migrations produce with `prisma/schema.prisma`, read
 * through Prisma's own parser (getDMMF): tables, columns (type, nullability, default), primary
 * keys, unique and plain indexes, foreign keys and enums, in both directions. A failure lists
 * every difference, one line each, naming the table, column and model field concerned.
 */

const SCHEMA_PATH = resolve(__dirname, '../../../prisma/schema.prisma');
const BOOKKEEPING_TABLE = '_prisma_migrations';

type Datamodel = Awaited<ReturnType<typeof getDMMF>>['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];

interface DbColumn {
  nullable: boolean;
  dataType: string;
  udtName: string;
  /** `format_type()`: the full type, with precision, length and `[]`. */
  type: string;
  hasDefault: boolean;
}

interface DbIndex {
  name: string;
  columns: string[];
  descending: boolean[];
  unique: boolean;
  primary: boolean;
  /** Partial or on expressions: never what a Prisma index makes. */
  special: boolean;
}

interface DbForeignKey {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

interface DbTable {
  columns: Map<string, DbColumn>;
  indexes: DbIndex[];
  foreignKeys: DbForeignKey[];
}

interface DbSnapshot {
  tables: Map<string, DbTable>;
  enums: Map<string, string[]>;
}

// ---------------------------------------------------------------------------------------------
// What the database has (public schema only, which is where the migrations put everything).

async function readDatabase(client: Client): Promise<DbSnapshot> {
  const tables = new Map<string, DbTable>();
  const tableRows = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  for (const { name } of tableRows.rows) {
    tables.set(name, { columns: new Map(), indexes: [], foreignKeys: [] });
  }

  const columns = await client.query<{
    table: string;
    column: string;
    is_nullable: 'YES' | 'NO';
    data_type: string;
    udt_name: string;
    type: string;
    column_default: string | null;
  }>(
    `SELECT c.table_name AS table, c.column_name AS column, c.is_nullable, c.data_type,
            c.udt_name, format_type(a.atttypid, a.atttypmod) AS type, c.column_default
     FROM information_schema.columns c
     JOIN pg_attribute a
       ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
      AND a.attname = c.column_name
     WHERE c.table_schema = 'public'`,
  );
  for (const row of columns.rows) {
    tables.get(row.table)?.columns.set(row.column, {
      nullable: row.is_nullable === 'YES',
      dataType: row.data_type,
      udtName: row.udt_name,
      type: row.type,
      hasDefault: row.column_default !== null,
    });
  }

  const indexes = await client.query<DbIndex & { table: string }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique,
            ix.indisprimary AS primary,
            (ix.indexprs IS NOT NULL OR ix.indpred IS NOT NULL) AS special,
            array(SELECT a.attname::text
                  FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                  ORDER BY k.ord) AS columns,
            array(SELECT (o.option & 1) = 1
                  FROM unnest(ix.indoption::int2[]) WITH ORDINALITY o(option, ord)
                  ORDER BY o.ord) AS descending
     FROM pg_index ix
     JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_class i ON i.oid = ix.indexrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public'`,
  );
  for (const { table, ...index } of indexes.rows) tables.get(table)?.indexes.push(index);

  const foreignKeys = await client.query<DbForeignKey & { table: string }>(
    `SELECT t.relname AS table, c.conname AS name, r.relname AS "refTable",
            array(SELECT a.attname::text
                  FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                  ORDER BY k.ord) AS columns,
            array(SELECT a.attname::text
                  FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                  ORDER BY k.ord) AS "refColumns",
            c.confdeltype AS "onDelete", c.confupdtype AS "onUpdate"
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_class r ON r.oid = c.confrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'f' AND n.nspname = 'public'`,
  );
  for (const { table, ...fk } of foreignKeys.rows) tables.get(table)?.foreignKeys.push(fk);

  const enums = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name,
            array(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                  ORDER BY e.enumsortorder) AS values
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype = 'e' AND n.nspname = 'public'`,
  );
  return { tables, enums: new Map(enums.rows.map((e) => [e.name, e.values])) };
}

// ---------------------------------------------------------------------------------------------
// What schema.prisma says, in the database's terms.

const tableOf = (model: Model) => model.dbName ?? model.name;
const columnOf = (field: Field) => field.dbName ?? field.name;

function fieldOf(model: Model, name: string): Field {
  const field = model.fields.find((f) => f.name === name);
  if (!field) throw new Error(`model ${model.name} has no field ${name}`);
  return field;
}

/** How `format_type()` prints an identifier: quoted unless plain lower case. */
const typeIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name}"`);

/** The Postgres type of a Prisma scalar with no @db attribute, as its migrations create it. */
const DEFAULT_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** The Postgres type of each @db attribute, given its arguments as `(a,b)` or ''. */
const NATIVE_TYPES: Record<string, (size: string) => string> = {
  Text: () => 'text',
  VarChar: (size) => `character varying${size}`,
  Char: (size) => `character${size || '(1)'}`,
  Uuid: () => 'uuid',
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  BigInt: () => 'bigint',
  DoublePrecision: () => 'double precision',
  Real: () => 'real',
  Decimal: (size) => `numeric${size}`,
  Boolean: () => 'boolean',
  Timestamp: (size) => `timestamp${size} without time zone`,
  Timestamptz: (size) => `timestamp${size} with time zone`,
  Date: () => 'date',
  JsonB: () => 'jsonb',
  Json: () => 'json',
  ByteA: () => 'bytea',
};

/** How `format_type()` prints a scalar field's column type; undefined if the guard lacks it. */
function scalarType(field: Field): string | undefined {
  if (!field.nativeType) return DEFAULT_TYPES[field.type];
  const [native, args] = field.nativeType;
  return NATIVE_TYPES[native]?.(args.length ? `(${args.join(',')})` : '');
}

/** Whether Prisma puts a field's @default in the database (cuid() and uuid() it does not). */
function hasDatabaseDefault(field: Field): boolean {
  const value = field.default;
  if (value === undefined || field.isUpdatedAt) return false;
  if (typeof value !== 'object' || Array.isArray(value)) return true;
  const fn = value as { name: string; args: ReadonlyArray<unknown> };
  if (fn.name === 'dbgenerated') return fn.args.length > 0;
  return ['now', 'autoincrement', 'sequence'].includes(fn.name);
}

const ACTIONS: Record<string, string> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
};

const list = (columns: ReadonlyArray<string>) => `(${columns.join(', ')})`;
const sameList = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

// ---------------------------------------------------------------------------------------------
// The comparison: one message per difference.

function findDrift(datamodel: Datamodel, db: DbSnapshot): string[] {
  const drift: string[] = [];
  const enums = new Map(datamodel.enums.map((e) => [e.name, e]));
  const modelTables = new Set(datamodel.models.map(tableOf));

  for (const model of datamodel.models) {
    const tableName = tableOf(model);
    const where = `${tableName} (model ${model.name})`;
    if (model.schema && model.schema !== 'public') {
      drift.push(`${where}: in schema "${model.schema}"; the drift guard only reads "public"`);
      continue;
    }
    const table = db.tables.get(tableName);
    if (!table) {
      drift.push(`${where}: table is missing from the database`);
      continue;
    }

    // Columns.
    const known = new Set<string>();
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      const columnName = columnOf(field);
      known.add(columnName);
      const at = `${tableName}.${columnName} (${model.name}.${field.name})`;
      const column = table.columns.get(columnName);
      if (!column) {
        drift.push(`${at}: column is missing`);
        continue;
      }
      if (field.kind === 'unsupported') continue;

      // Prisma makes scalar lists nullable arrays and never reports their nullability as drift.
      if (!field.isList && field.isRequired === column.nullable) {
        drift.push(
          field.isRequired
            ? `${at}: NOT NULL expected (required field), found nullable`
            : `${at}: nullable expected (optional field), found NOT NULL`,
        );
      }

      let expected: string | undefined;
      if (field.kind === 'enum') {
        const e = enums.get(field.type);
        const enumName = e?.dbName ?? field.type;
        expected = typeIdent(enumName);
        const udt = field.isList ? `_${enumName}` : enumName;
        if (column.udtName !== udt || (!field.isList && column.dataType !== 'USER-DEFINED')) {
          drift.push(
            `${at}: enum ${enumName} expected (USER-DEFINED ${udt}), ` +
              `found ${column.dataType} ${column.udtName}`,
          );
          continue;
        }
      } else {
        expected = scalarType(field);
      }
      if (expected === undefined) {
        drift.push(
          `${at}: the drift guard does not know the Postgres type of ${field.type}` +
            `${field.nativeType ? ` @db.${field.nativeType[0]}` : ''}; teach scalarType()`,
        );
        continue;
      }
      if (field.isList) expected += '[]';
      const isArray = column.dataType === 'ARRAY';
      if (column.type !== expected || isArray !== field.isList) {
        drift.push(
          `${at}: type ${expected} expected (${field.type}${field.isList ? '[]' : ''}), ` +
            `found ${column.type}`,
        );
      }

      const wantsDefault = hasDatabaseDefault(field);
      if (wantsDefault && !column.hasDefault) {
        drift.push(`${at}: database default expected (@default), found none`);
      } else if (!wantsDefault && column.hasDefault) {
        drift.push(`${at}: database default found, but the field has no database @default`);
      }
    }
    for (const columnName of table.columns.keys()) {
      if (!known.has(columnName)) {
        drift.push(
          `${tableName}.${columnName}: column exists in the database, ` +
            `but model ${model.name} has no field for it`,
        );
      }
    }

    // Primary key, unique indexes and plain indexes.
    const matched = new Set<DbIndex>();
    const modelIndexes = datamodel.indexes.filter((i) => i.model === model.name);
    const primary = table.indexes.find((i) => i.primary);
    if (primary) matched.add(primary);
    const id = modelIndexes.find((i) => i.type === 'id');
    if (!id) {
      if (primary) {
        drift.push(
          `${tableName}: primary key ${list(primary.columns)} exists, but model ${model.name} ` +
            'has no @id / @@id',
        );
      }
    } else {
      const columns = id.fields.map((f) => columnOf(fieldOf(model, f.name)));
      if (!primary) {
        drift.push(`${tableName}: primary key ${list(columns)} expected (@id / @@id), found none`);
      } else if (!sameList(primary.columns, columns)) {
        drift.push(
          `${tableName}: primary key ${list(columns)} expected (@id / @@id), ` +
            `found ${list(primary.columns)}`,
        );
      }
    }
    for (const index of modelIndexes) {
      if (index.type !== 'unique' && index.type !== 'normal') continue;
      const columns = index.fields.map((f) => columnOf(fieldOf(model, f.name)));
      const descending = index.fields.map((f) => f.sortOrder === 'desc');
      const unique = index.type === 'unique';
      const found = table.indexes.find(
        (i) =>
          !i.primary &&
          !i.special &&
          !matched.has(i) &&
          i.unique === unique &&
          sameList(i.columns, columns) &&
          sameList(i.descending, descending),
      );
      if (found) {
        matched.add(found);
        continue;
      }
      const kind = unique ? 'unique index' : 'index';
      const source = unique ? '@unique / @@unique' : '@@index';
      const order = descending.some(Boolean)
        ? ` (sort ${descending.map((d) => (d ? 'desc' : 'asc')).join(', ')})`
        : '';
      drift.push(
        `${tableName}: ${kind} on ${list(columns)}${order} expected (${source}), found none`,
      );
    }
    for (const index of table.indexes) {
      if (matched.has(index)) continue;
      drift.push(
        `${tableName}: ${index.unique ? 'unique index' : 'index'} ${index.name} on ` +
          `${list(index.columns)}${index.special ? ' (partial or expression)' : ''} exists in ` +
          'the database, but not in schema.prisma',
      );
    }

    // Foreign keys: one for each relation field that holds the reference.
    const matchedKeys = new Set<DbForeignKey>();
    for (const field of model.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue;
      const target = datamodel.models.find((m) => m.name === field.type);
      if (!target) continue;
      const columns = field.relationFromFields.map((f) => columnOf(fieldOf(model, f)));
      const refColumns = (field.relationToFields ?? []).map((f) => columnOf(fieldOf(target, f)));
      const onDelete = field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull');
      const onUpdate = field.relationOnUpdate ?? 'Cascade';
      const reference = `${list(columns)} -> ${tableOf(target)}${list(refColumns)}`;
      const at = `${tableName} (${model.name}.${field.name})`;
      const fk = table.foreignKeys.find(
        (k) =>
          !matchedKeys.has(k) &&
          k.refTable === tableOf(target) &&
          sameList(k.columns, columns) &&
          sameList(k.refColumns, refColumns),
      );
      if (!fk) {
        drift.push(`${at}: foreign key ${reference} expected (@relation), found none`);
        continue;
      }
      matchedKeys.add(fk);
      const actual = { onDelete: ACTIONS[fk.onDelete], onUpdate: ACTIONS[fk.onUpdate] };
      if (actual.onDelete !== onDelete || actual.onUpdate !== onUpdate) {
        drift.push(
          `${at}: foreign key ${reference} expected onDelete ${onDelete}, onUpdate ${onUpdate}; ` +
            `found onDelete ${actual.onDelete}, onUpdate ${actual.onUpdate}`,
        );
      }
    }
    for (const fk of table.foreignKeys) {
      if (matchedKeys.has(fk)) continue;
      drift.push(
        `${tableName}: foreign key ${fk.name} ${list(fk.columns)} -> ` +
          `${fk.refTable}${list(fk.refColumns)} exists in the database, but no @relation makes it`,
      );
    }
  }

  for (const tableName of db.tables.keys()) {
    if (!modelTables.has(tableName) && tableName !== BOOKKEEPING_TABLE) {
      drift.push(`${tableName}: table exists in the database, but no model maps to it`);
    }
  }

  // Enums: the same values on both sides (Postgres keeps an order, Prisma's diff does not).
  const enumNames = new Set<string>();
  for (const e of datamodel.enums) {
    const name = e.dbName ?? e.name;
    enumNames.add(name);
    const actual = db.enums.get(name);
    if (!actual) {
      drift.push(`enum ${name} (enum ${e.name}): type is missing from the database`);
      continue;
    }
    const expected = e.values.map((v) => v.dbName ?? v.name);
    const missing = expected.filter((v) => !actual.includes(v));
    const extra = actual.filter((v) => !expected.includes(v));
    if (missing.length) drift.push(`enum ${name}: values ${missing.join(', ')} are missing`);
    if (extra.length) {
      drift.push(
        `enum ${name}: values ${extra.join(', ')} exist in the database, not in the schema`,
      );
    }
  }
  for (const name of db.enums.keys()) {
    if (!enumNames.has(name)) drift.push(`enum ${name}: exists in the database, not in the schema`);
  }

  return drift;
}

// ---------------------------------------------------------------------------------------------

let db: TestDatabase;
let client: Client;
let schema: string;
let datamodel: Datamodel;
let migrated: DbSnapshot;

/** The snapshot of the database after `ddl`, rolled back afterwards. */
async function snapshotAfter(ddl: string): Promise<DbSnapshot> {
  await client.query('BEGIN');
  try {
    await client.query(ddl);
    return await readDatabase(client);
  } finally {
    await client.query('ROLLBACK');
  }
}

beforeAll(async () => {
  schema = await readFile(SCHEMA_PATH, 'utf8');
  ({ datamodel } = await getDMMF({ datamodel: schema }));
  db = await createTestDatabase();
  client = new Client({ connectionString: db.url });
  await client.connect();
  migrated = await readDatabase(client);
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('the migrated database and prisma/schema.prisma', () => {
  it('have not drifted apart', () => {
    expect(findDrift(datamodel, migrated)).toEqual([]);
  });

  it('are both read: every model has its table, every enum its type', () => {
    expect(datamodel.models.length).toBeGreaterThan(0);
    expect([...migrated.tables.keys()].sort()).toEqual(
      [...datamodel.models.map(tableOf), BOOKKEEPING_TABLE].sort(),
    );
    expect([...migrated.enums.keys()].sort()).toEqual(
      datamodel.enums.map((e) => e.dbName ?? e.name).sort(),
    );
  });
});

describe('the drift guard notices', () => {
  // Targets picked from the schema itself, so these checks follow it as it evolves.
  const scalarFields = () =>
    datamodel.models.flatMap((model) =>
      model.fields
        .filter((f) => f.kind === 'scalar' && !f.isList)
        .map((field) => ({ model, field, table: tableOf(model), column: columnOf(field) })),
    );
  const inAnyKey = (model: Model, field: Field) =>
    datamodel.indexes.some(
      (i) => i.model === model.name && i.fields.some((f) => f.name === field.name),
    ) || model.fields.some((f) => f.relationFromFields?.includes(field.name));
  /** A required String column outside every key and index, without a default. */
  const plainColumn = () => {
    const found = scalarFields().find(
      ({ model, field }) =>
        field.type === 'String' &&
        field.isRequired &&
        !field.hasDefaultValue &&
        !inAnyKey(model, field),
    );
    if (!found) throw new Error('schema.prisma has no plain required String field to test with');
    return found;
  };
  const at = (t: { model: Model; field: Field; table: string; column: string }) =>
    `${t.table}.${t.column} (${t.model.name}.${t.field.name})`;
  const dbIndexFor = (type: 'unique' | 'normal') => {
    const index = datamodel.indexes.find((i) => i.type === type);
    if (!index) throw new Error(`schema.prisma has no ${type} index to test with`);
    const model = datamodel.models.find((m) => m.name === index.model)!;
    const columns = index.fields.map((f) => columnOf(fieldOf(model, f.name)));
    const table = tableOf(model);
    const found = migrated.tables
      .get(table)!
      .indexes.find((i) => !i.primary && sameList(i.columns, columns));
    return { table, columns, name: found!.name };
  };

  it('a field added to schema.prisma that no migration created', async () => {
    const model = datamodel.models[0];
    const edited = schema.replace(
      new RegExp(`^model ${model.name} \\{\\n`, 'm'),
      (line) => `${line}  driftProbe String? @map("drift_probe")\n`,
    );
    expect(edited).not.toBe(schema);
    const { datamodel: changed } = await getDMMF({ datamodel: edited });

    expect(findDrift(changed, migrated)).toEqual([
      `${tableOf(model)}.drift_probe (${model.name}.driftProbe): column is missing`,
    ]);
  });

  it('a model added to schema.prisma that no migration created', async () => {
    const edited = `${schema}\nmodel DriftProbe {\n  id String @id\n  @@map("drift_probes")\n}\n`;
    const { datamodel: changed } = await getDMMF({ datamodel: edited });

    expect(findDrift(changed, migrated)).toEqual([
      'drift_probes (model DriftProbe): table is missing from the database',
    ]);
  });

  it('a column in the database that the model lacks', async () => {
    const table = tableOf(datamodel.models[0]);
    const snapshot = await snapshotAfter(`ALTER TABLE "${table}" ADD COLUMN "drift_probe" TEXT`);
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${table}.drift_probe: column exists in the database, but model ` +
        `${datamodel.models[0].name} has no field for it`,
    ]);
  });

  it('a column the database lacks', async () => {
    const target = plainColumn();
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${target.table}" DROP COLUMN "${target.column}"`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([`${at(target)}: column is missing`]);
  });

  it('a required field whose column is nullable', async () => {
    const target = plainColumn();
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" DROP NOT NULL`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${at(target)}: NOT NULL expected (required field), found nullable`,
    ]);
  });

  it('a column of another type', async () => {
    const target = plainColumn();
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" TYPE VARCHAR(500)`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${at(target)}: type text expected (String), found character varying(500)`,
    ]);
  });

  it('a timestamp column of another precision or without its time zone', async () => {
    const target = scalarFields().find(({ field }) => field.type === 'DateTime');
    if (!target) throw new Error('schema.prisma has no DateTime field to test with');
    const expected = scalarType(target.field)!;
    const other = expected.includes('with time zone')
      ? 'timestamp(3) without time zone'
      : 'timestamp(3) with time zone';
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" TYPE ${other}`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${at(target)}: type ${expected} expected (DateTime), found ${other}`,
    ]);
  });

  it('a scalar list that is not an array, and an enum field stored as text', async () => {
    const fields = datamodel.models.flatMap((model) =>
      model.fields.map((field) => ({
        model,
        field,
        table: tableOf(model),
        column: columnOf(field),
      })),
    );
    const listed = fields.find(({ field }) => field.kind === 'scalar' && field.isList);
    const enumed = fields.find(({ field }) => field.kind === 'enum' && !field.isList);
    if (!listed || !enumed) throw new Error('schema.prisma has no scalar list or enum field');
    const enumName = datamodel.enums.find((e) => e.name === enumed.field.type)!.dbName!;
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${listed.table}" ALTER COLUMN "${listed.column}" TYPE TEXT;
       ALTER TABLE "${enumed.table}" ALTER COLUMN "${enumed.column}" TYPE TEXT`,
    );
    expect(findDrift(datamodel, snapshot).sort()).toEqual(
      [
        `${at(listed)}: type ${scalarType(listed.field)}[] expected (${listed.field.type}[]), ` +
          'found text',
        `${at(enumed)}: enum ${enumName} expected (USER-DEFINED ${enumName}), found text text`,
      ].sort(),
    );
  });

  it('a database default the schema lacks, and a schema default the database lacks', async () => {
    const withDefault = scalarFields().find(({ field }) => hasDatabaseDefault(field));
    if (!withDefault) throw new Error('schema.prisma has no field with a database default');
    const target = plainColumn();
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${withDefault.table}" ALTER COLUMN "${withDefault.column}" DROP DEFAULT;
       ALTER TABLE "${target.table}" ALTER COLUMN "${target.column}" SET DEFAULT 'x'`,
    );
    expect(findDrift(datamodel, snapshot).sort()).toEqual(
      [
        `${at(withDefault)}: database default expected (@default), found none`,
        `${at(target)}: database default found, but the field has no database @default`,
      ].sort(),
    );
  });

  it('a different primary key', async () => {
    const model = datamodel.models.find(
      (m) =>
        datamodel.indexes.find((i) => i.model === m.name && i.type === 'id')!.fields.length > 1,
    );
    if (!model) throw new Error('schema.prisma has no composite primary key to test with');
    const table = tableOf(model);
    const pkey = migrated.tables.get(table)!.indexes.find((i) => i.primary)!;
    const reversed = [...pkey.columns].reverse();
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${table}" DROP CONSTRAINT "${pkey.name}";
       ALTER TABLE "${table}" ADD PRIMARY KEY (${reversed.map((c) => `"${c}"`).join(', ')})`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${table}: primary key ${list(pkey.columns)} expected (@id / @@id), found ${list(reversed)}`,
    ]);
  });

  it('a missing unique index', async () => {
    const index = dbIndexFor('unique');
    const snapshot = await snapshotAfter(`DROP INDEX "${index.name}"`);
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${index.table}: unique index on ${list(index.columns)} expected (@unique / @@unique), ` +
        'found none',
    ]);
  });

  it('a unique index that is no longer unique', async () => {
    const index = dbIndexFor('unique');
    const columns = index.columns.map((c) => `"${c}"`).join(', ');
    const snapshot = await snapshotAfter(
      `DROP INDEX "${index.name}"; CREATE INDEX "${index.name}" ON "${index.table}" (${columns})`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${index.table}: unique index on ${list(index.columns)} expected (@unique / @@unique), ` +
        'found none',
      `${index.table}: index ${index.name} on ${list(index.columns)} exists in the database, ` +
        'but not in schema.prisma',
    ]);
  });

  it('a missing @@index, and an index with its columns in another order', async () => {
    const index = dbIndexFor('normal');
    const missing = await snapshotAfter(`DROP INDEX "${index.name}"`);
    expect(findDrift(datamodel, missing)).toEqual([
      `${index.table}: index on ${list(index.columns)} expected (@@index), found none`,
    ]);

    const target = datamodel.indexes.find((i) => i.type === 'normal' && i.fields.length > 1);
    if (!target) throw new Error('schema.prisma has no multi-column @@index to test with');
    const model = datamodel.models.find((m) => m.name === target.model)!;
    const table = tableOf(model);
    const columns = target.fields.map((f) => columnOf(fieldOf(model, f.name)));
    const name = migrated.tables
      .get(table)!
      .indexes.find((i) => sameList(i.columns, columns))!.name;
    const reversed = [...columns].reverse();
    const reordered = await snapshotAfter(
      `DROP INDEX "${name}";
       CREATE INDEX "${name}" ON "${table}" (${reversed.map((c) => `"${c}"`).join(', ')})`,
    );
    expect(findDrift(datamodel, reordered)).toEqual([
      `${table}: index on ${list(columns)} expected (@@index), found none`,
      `${table}: index ${name} on ${list(reversed)} exists in the database, ` +
        'but not in schema.prisma',
    ]);
  });

  it('an index in the database that the schema lacks', async () => {
    const target = plainColumn();
    const snapshot = await snapshotAfter(
      `CREATE INDEX "drift_probe_idx" ON "${target.table}" ("${target.column}")`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${target.table}: index drift_probe_idx on (${target.column}) exists in the database, ` +
        'but not in schema.prisma',
    ]);
  });

  it('a foreign key with other referential actions', async () => {
    const model = datamodel.models.find((m) =>
      m.fields.some((f) => f.kind === 'object' && f.relationFromFields?.length),
    );
    if (!model) throw new Error('schema.prisma has no relation to test with');
    const field = model.fields.find((f) => f.kind === 'object' && f.relationFromFields?.length)!;
    const target = datamodel.models.find((m) => m.name === field.type)!;
    const table = tableOf(model);
    const columns = field.relationFromFields!.map((f) => columnOf(fieldOf(model, f)));
    const refColumns = field.relationToFields!.map((f) => columnOf(fieldOf(target, f)));
    const fk = migrated.tables.get(table)!.foreignKeys.find((k) => sameList(k.columns, columns))!;
    const quoted = (cs: string[]) => cs.map((c) => `"${c}"`).join(', ');
    const snapshot = await snapshotAfter(
      `ALTER TABLE "${table}" DROP CONSTRAINT "${fk.name}";
       ALTER TABLE "${table}" ADD CONSTRAINT "${fk.name}" FOREIGN KEY (${quoted(columns)})
         REFERENCES "${tableOf(target)}" (${quoted(refColumns)})
         ON DELETE SET DEFAULT ON UPDATE SET DEFAULT`,
    );
    const onDelete = field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull');
    const onUpdate = field.relationOnUpdate ?? 'Cascade';
    expect(findDrift(datamodel, snapshot)).toEqual([
      `${table} (${model.name}.${field.name}): foreign key ${list(columns)} -> ` +
        `${tableOf(target)}${list(refColumns)} expected onDelete ${onDelete}, ` +
        `onUpdate ${onUpdate}; found onDelete SetDefault, onUpdate SetDefault`,
    ]);
  });

  it('an enum value in the database that the schema lacks, and one it misses', async () => {
    const e = datamodel.enums[0];
    if (!e) throw new Error('schema.prisma has no enum to test with');
    const name = e.dbName ?? e.name;
    const renamed = e.values[0].dbName ?? e.values[0].name;
    const snapshot = await snapshotAfter(
      `ALTER TYPE "${name}" RENAME VALUE '${renamed}' TO 'drift_probe'`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      `enum ${name}: values ${renamed} are missing`,
      `enum ${name}: values drift_probe exist in the database, not in the schema`,
    ]);
  });

  it('a table, and an enum, that no model maps to', async () => {
    const snapshot = await snapshotAfter(
      `CREATE TABLE "drift_probe" ("id" TEXT PRIMARY KEY);
       CREATE TYPE "drift_probe_kind" AS ENUM ('a')`,
    );
    expect(findDrift(datamodel, snapshot)).toEqual([
      'drift_probe: table exists in the database, but no model maps to it',
      'enum drift_probe_kind: exists in the database, not in the schema',
    ]);
  });
});
