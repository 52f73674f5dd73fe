import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import pg from 'pg';
import { safeError, type Logger } from './logger';
import { finalizeStatements } from './statements';
import { ImmediateSqliteClient } from './sqlite-client';

export type Db = Knex;

/**
 * SQLite: one file, one connection. PostgreSQL: a pool shared by every part of one instance;
 * several instances may share the database. `schema` is PostgreSQL's search path (default public).
 */
export type DatabaseConfig =
  | Readonly<{ client: 'sqlite'; path: string }>
  | Readonly<{ client: 'pg'; url: string; schema?: string; poolMax: number; acquireTimeoutMs: number; statementTimeoutMs: number }>;

// COUNT(*) and SUM(integer) come back as int8; every count here fits a JS number exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/**
 * SQLite: one connection, in WAL mode with full fsync: every write that was acknowledged
 * survives a crash, and the single connection serialises writes, which is what SQLite wants.
 * Write transactions begin IMMEDIATE (sqlite-client.ts), so another process holding the write
 * lock (a CLI, a backup) makes them wait up to busy_timeout (5 s) rather than fail at once.
 * PostgreSQL: a pool of DB_POOL_MAX connections per instance, each statement bounded by
 * DB_STATEMENT_TIMEOUT_MS; a lost server makes queries fail (503s), and the pool reconnects
 * when it returns.
 */
export function createDb(database: DatabaseConfig | string, logger?: Logger): Db {
  const config: DatabaseConfig = typeof database === 'string' ? { client: 'sqlite', path: database } : database;
  // knex reports connection trouble on its own (a lost server, a refused connect); as JSON lines with
  // the rest, reduced to the driver's short message like every logged error (logger.ts, safeError).
  const detail = (message: unknown) => safeError(message).message;
  const log = logger && {
    warn: (message: unknown) => logger.warn({ component: 'db', detail: detail(message) }, 'database warning'),
    error: (message: unknown) => logger.error({ component: 'db', detail: detail(message) }, 'database error'),
    deprecate: (message: unknown) => logger.warn({ component: 'db', detail: detail(message) }, 'database deprecation'),
    debug: () => undefined,
  };
  if (config.client === 'pg') {
    return knex({
      client: 'pg',
      log,
      // knex's error messages would quote each statement with its values (customers' data): placeholders only.
      compileSqlOnError: false,
      connection: { connectionString: config.url, statement_timeout: config.statementTimeoutMs || undefined, application_name: 'closeloop' },
      searchPath: config.schema ? [config.schema] : undefined,
      pool: { min: 0, max: config.poolMax },
      acquireConnectionTimeout: config.acquireTimeoutMs,
    });
  }
  if (config.path !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(config.path)), { recursive: true });
  return knex({
    client: ImmediateSqliteClient as unknown as Knex.Config['client'],
    log,
    compileSqlOnError: false,
    connection: { filename: config.path },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        // SQLite closes no connection with prepared statements left (shared/statements.ts keeps some).
        const close = conn.close.bind(conn);
        conn.close = (cb) => void finalizeStatements(conn).then(() => close(cb));
        conn.exec(
          'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
          (err) => done(err, conn),
        );
      },
    },
    acquireConnectionTimeout: 10_000,
  });
}

type SqliteConnection = { exec(sql: string, cb: (err: Error | null) => void): void; close(cb: (err: Error | null) => void): void };

export const isPostgres = (db: Db) => db.client.config.client === 'pg';

/** Where the database is, for logs: the SQLite path, or the PostgreSQL URL without its password. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.client === 'sqlite') return database.path;
  const url = new URL(database.url);
  if (url.password) url.password = '***';
  return `${url.toString()}${database.schema ? ` (schema ${database.schema})` : ''}`;
}

/**
 * Leases rows for one worker: on PostgreSQL, FOR UPDATE SKIP LOCKED, so instances claiming at the
 * same moment take different rows; SQLite has one writer at a time, so a plain read will do.
 */
export const forClaim = <Q extends Knex.QueryBuilder>(db: Db, q: Q): Q => (isPostgres(db) ? (q.forUpdate().skipLocked() as Q) : q);

/**
 * A transaction that sees one snapshot for all its statements, as a report needs: SQLite's
 * transactions already do; PostgreSQL's default (READ COMMITTED) takes a new snapshot per statement.
 * Read-only on both: on SQLite it begins deferred, so a report never takes the write lock.
 */
export function readTransaction<T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return isPostgres(db) ? db.transaction(work, { isolationLevel: 'repeatable read', readOnly: true }) : db.transaction(work, { readOnly: true });
}

/** Any arbitrary number that is ours: the key of the PostgreSQL advisory lock held while an instance prepares the schema. */
const STARTUP_LOCK = 7_361_042;

/**
 * Runs `work` (migrations, counter rebuilds) while no other instance does the same: on PostgreSQL
 * under a transaction-scoped advisory lock on a connection of its own, so instances that start
 * together take turns and the later ones find nothing left to do.
 */
export async function withStartupLock<T>(db: Db, work: () => Promise<T>): Promise<T> {
  if (!isPostgres(db)) return work();
  const { connection, searchPath } = db.client.config as Knex.Config;
  const lock = knex({ client: 'pg', connection, searchPath, pool: { min: 1, max: 1 } });
  try {
    return await lock.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [STARTUP_LOCK]);
      return work();
    });
  } finally {
    await lock.destroy();
  }
}

/** SQLite hands instants back as epoch milliseconds, PostgreSQL as Date: accept both. */
export function toDate(value: unknown): Date;
export function toDate(value: unknown, nullable: 'nullable'): Date | null;
export function toDate(value: unknown, nullable?: 'nullable'): Date | null {
  if (value === null || value === undefined) {
    if (nullable) return null;
    throw new Error('expected a timestamp, got null');
  }
  return value instanceof Date ? value : new Date(value as number | string);
}
