import crypto from 'node:crypto';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { loadConfig, type DatabaseConfig } from '../../src/config';

/**
 * Which engine the suite runs on. `npm test` uses a SQLite file per test; `npm run test:pg`
 * (scripts/test-pg.mjs) creates a fresh PostgreSQL database for the run and passes its URL here,
 * and each test then gets a schema of its own in it.
 */
export const PG_URL = process.env.CLOSELOOP_TEST_PG;
export const onPostgres = Boolean(PG_URL);

/** Tests of SQLite itself (its files, locks and triggers) run in the SQLite lane only. */
export const describeSqlite: jest.Describe = onPostgres ? describe.skip : describe;
export const itSqlite: jest.It = onPostgres ? it.skip : it;

/** The DATABASE_URL (and, on PostgreSQL, DATABASE_SCHEMA) of a fresh database for one test. */
export function freshDatabaseEnv(dir: string): Record<string, string> {
  if (!PG_URL) return { DATABASE_URL: `sqlite:${path.join(dir, 'test.sqlite')}` };
  return { DATABASE_URL: PG_URL, DATABASE_SCHEMA: `t_${crypto.randomBytes(6).toString('hex')}` };
}

/** The database of `env` (from freshDatabaseEnv), empty, its PostgreSQL schema created: for tests that make their own tables. */
export async function emptyDatabase(env: Record<string, string>): Promise<DatabaseConfig> {
  const { database } = loadConfig({ NODE_ENV: 'test', ...env });
  if (database.client === 'pg' && database.schema) {
    const admin = knex({ client: 'pg', connection: database.url, pool: { min: 0, max: 1 } });
    try {
      await admin.raw('CREATE SCHEMA ??', [database.schema]);
    } finally {
      await admin.destroy();
    }
  }
  return database;
}

/** Drops a test's PostgreSQL schema (SQLite files go with the test's folder). */
export async function dropDatabase(env: Record<string, string>): Promise<void> {
  if (!PG_URL || !env.DATABASE_SCHEMA) return;
  const admin = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [env.DATABASE_SCHEMA]);
  } finally {
    await admin.destroy();
  }
}

/**
 * A database that outlives one boot, named by the SQLite path the test chose: that file, or on
 * PostgreSQL a schema named after it (dropped with the run's database).
 */
export function sharedDatabaseEnv(sqlitePath: string): Record<string, string> {
  if (!PG_URL) return { DATABASE_URL: `sqlite:${sqlitePath}` };
  return { DATABASE_URL: PG_URL, DATABASE_SCHEMA: `s_${crypto.createHash('sha256').update(sqlitePath).digest('hex').slice(0, 16)}` };
}

/** The SQLite file of a test's config (for tests that open it from the side: SQLite lane only). */
export function sqliteFile(config: { database: { client: string; path?: string } }): string {
  if (config.database.client !== 'sqlite' || !config.database.path) throw new Error('this test needs the SQLite lane');
  return config.database.path;
}

/**
 * Makes the database refuse inserts and updates on `table` with `message`, as a full disk or a
 * broken table would, in the middle of a transaction. Returns the undo.
 */
export async function refuseWrites(db: Knex, table: string, message: string, ops: Array<'INSERT' | 'UPDATE'> = ['INSERT', 'UPDATE']): Promise<() => Promise<void>> {
  const name = `refuse_${table}`;
  if (db.client.config.client === 'pg') {
    await db.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message.replace(/'/g, "''")}'; END $$`);
    await db.raw(`CREATE TRIGGER ${name} BEFORE ${ops.join(' OR ')} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    return async () => {
      await db.raw(`DROP TRIGGER ${name} ON ${table}`);
      await db.raw(`DROP FUNCTION ${name}()`);
    };
  }
  for (const op of ops) {
    await db.raw(`CREATE TRIGGER ${name}_${op.toLowerCase()} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, '${message.replace(/'/g, "''")}'); END`);
  }
  return async () => {
    for (const op of ops) await db.raw(`DROP TRIGGER ${name}_${op.toLowerCase()}`);
  };
}

/** The tables of the test's database (its schema, on PostgreSQL). */
export async function tableNames(db: Knex): Promise<string[]> {
  if (db.client.config.client === 'pg') {
    return db('information_schema.tables').whereRaw('table_schema = current_schema()').andWhere('table_type', 'BASE TABLE').pluck('table_name');
  }
  return db('sqlite_master').where({ type: 'table' }).whereNot('name', 'like', 'sqlite_%').pluck('name');
}

/**
 * Makes every write fail as unavailable storage does (answered 503): SQLite becomes read-only
 * (query_only on the app's one connection: SQLITE_READONLY), PostgreSQL answers "disk full"
 * (SQLSTATE 53100) with `message` for writes to any table. Returns the undo.
 */
export async function storageUnavailable(db: Knex, message: string): Promise<() => Promise<void>> {
  if (db.client.config.client !== 'pg') {
    await db.raw('PRAGMA query_only = ON');
    return async () => void (await db.raw('PRAGMA query_only = OFF'));
  }
  const tables = await tableNames(db);
  await db.raw(`CREATE FUNCTION storage_unavailable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '53100', MESSAGE = '${message.replace(/'/g, "''")}'; END $$`);
  for (const table of tables) await db.raw(`CREATE TRIGGER storage_unavailable BEFORE INSERT OR UPDATE OR DELETE ON ?? FOR EACH ROW EXECUTE FUNCTION storage_unavailable()`, [table]);
  return async () => {
    for (const table of tables) await db.raw('DROP TRIGGER storage_unavailable ON ??', [table]);
    await db.raw('DROP FUNCTION storage_unavailable()');
  };
}

/**
 * Refuses rows whose `column` is LIKE `pattern`, as a constraint would: on PostgreSQL a real CHECK
 * constraint (whose error, like PostgreSQL's own not-null and check errors, quotes the failing row
 * in its `detail`), on SQLite a trigger answering as SQLite's CHECK does. Returns the undo.
 */
export async function refuseRows(db: Knex, table: string, column: string, pattern: string): Promise<() => Promise<void>> {
  const name = `refuse_${table}_${column}`;
  const quoted = pattern.replace(/'/g, "''");
  if (db.client.config.client === 'pg') {
    await db.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? CHECK (?? NOT LIKE '${quoted}') NOT VALID`, [table, name, column]);
    return async () => void (await db.raw('ALTER TABLE ?? DROP CONSTRAINT ??', [table, name]));
  }
  for (const op of ['INSERT', 'UPDATE']) {
    await db.raw(`CREATE TRIGGER ${name}_${op.toLowerCase()} BEFORE ${op} ON ${table} WHEN NEW.${column} LIKE '${quoted}' BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ${name}'); END`);
  }
  return async () => {
    for (const op of ['insert', 'update']) await db.raw(`DROP TRIGGER ${name}_${op}`);
  };
}
