import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import { migrationSource } from '../../migrations';

export type Db = Knex;

/**
 * One SQLite connection, in WAL mode with full fsync: every write that was
 * acknowledged survives a crash. The single connection also serialises writes,
 * which is what SQLite wants anyway.
 */
export function createDb(sqlitePath: string): Db {
  if (sqlitePath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(sqlitePath)), { recursive: true });
  return knex({
    client: 'sqlite3',
    connection: { filename: sqlitePath },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        conn.exec(
          'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
          (err) => done(err, conn),
        );
      },
    },
    acquireConnectionTimeout: 10_000,
  });
}

type SqliteConnection = { exec(sql: string, cb: (err: Error | null) => void): void };

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = await db.migrate.latest({ migrationSource });
  return applied as string[];
}

export async function pendingMigrations(db: Db): Promise<number> {
  const [, pending] = await db.migrate.list({ migrationSource });
  return (pending as unknown[]).length;
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
