import type { Database, Statement } from 'sqlite3';
import type { Db } from '../../src/shared/db';

/**
 * Promise wrappers over the raw sqlite3 connection knex holds. The bulk load goes through them
 * because knex's per-query cost would dominate at millions of rows; what is measured goes
 * through knex and the report service as in production.
 */
export const exec = (conn: Database, sql: string) => new Promise<void>((ok, fail) => conn.exec(sql, (err) => (err ? fail(err) : ok())));

export const all = <T = Record<string, unknown>>(conn: Database, sql: string, params: unknown[] = []) =>
  new Promise<T[]>((ok, fail) => conn.all(sql, params, (err, rows) => (err ? fail(err) : ok(rows as T[]))));

const prepare = (conn: Database, sql: string) =>
  new Promise<Statement>((ok, fail) => {
    const stmt: Statement = conn.prepare(sql, (err) => (err ? fail(err) : ok(stmt)));
  });

const run = (stmt: Statement, params: unknown[]) => new Promise<void>((ok, fail) => stmt.run(params, (err) => (err ? fail(err) : ok())));

const finalize = (stmt: Statement) => new Promise<void>((ok) => stmt.finalize(() => ok()));

/** The raw connection for the duration of `work`; knex gets it back afterwards. */
export async function withConnection<T>(db: Db, work: (conn: Database) => Promise<T>): Promise<T> {
  const conn = (await db.client.acquireConnection()) as Database;
  try {
    return await work(conn);
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** Values bound once per statement (?1, ?2, …) and referenced from every row, e.g. a long text many rows share. */
export type InsertShape = { shared?: unknown[]; perRow: number; tuple: (param: (i: number) => string, shared: (i: number) => string) => string };

export type Inserter = ReturnType<typeof inserter>;

/**
 * Buffers rows for one table and writes them as prepared multi-row INSERTs. Binding parameters
 * costs the main thread up to a microsecond each, so `shape` lets a row bind only what varies
 * and compute the rest in SQL. The next statement is bound while SQLite still executes the
 * previous one (two in flight at most); `drain` waits for them. It never begins or commits:
 * the caller batches many flushes into one transaction and drains before COMMIT.
 */
export function inserter(conn: Database, table: string, columns: readonly string[], shape?: InsertShape) {
  const { shared = [], perRow, tuple } = shape ?? { perRow: columns.length, tuple: (p: (i: number) => string) => `(${columns.map((_, i) => p(i)).join(',')})` };
  const rowsPerStatement = Math.min(500, Math.floor((32_000 - shared.length) / perRow));
  const statements = new Map<number, Promise<Statement>>();
  const statementFor = (rows: number) => {
    let stmt = statements.get(rows);
    if (!stmt) {
      const tuples = Array.from({ length: rows }, (_, r) => tuple((i) => `?${shared.length + r * perRow + i + 1}`, (i) => `?${i + 1}`));
      stmt = prepare(conn, `INSERT INTO ${table} (${columns.join(',')}) VALUES ${tuples.join(',')}`);
      statements.set(rows, stmt);
    }
    return stmt;
  };
  let buffer: unknown[] = [...shared];
  let rows = 0;
  let written = 0;
  const inFlight: Array<Promise<void>> = [];

  async function flush() {
    if (rows === 0) return;
    const [params, count] = [buffer, rows];
    [buffer, rows] = [[...shared], 0];
    const stmt = await statementFor(count);
    const running = run(stmt, params).then(() => void (written += count));
    running.catch(() => {}); // awaited below or in drain(); this only keeps Node from calling it unhandled meanwhile
    inFlight.push(running);
    while (inFlight.length > 1) await inFlight.shift();
  }

  async function drain() {
    await flush();
    while (inFlight.length) await inFlight.shift();
  }

  return {
    /** Adds one row (`perRow` values); true when the buffer is full and should be flushed. */
    push(values: unknown[]): boolean {
      // node-sqlite3 binds a string in about a third of the time of a number or a null. Numbers go
      // as their decimal text: the columns' INTEGER or NUMERIC affinity stores them as integers.
      for (const v of values) buffer.push(typeof v === 'number' ? String(v) : v);
      return ++rows >= rowsPerStatement;
    },
    flush,
    drain,
    get written() {
      return written;
    },
    async close() {
      await drain();
      for (const stmt of statements.values()) await finalize(await stmt);
    },
  };
}

/**
 * Runs `work` with the tables' secondary indexes dropped, then creates them again from their
 * own CREATE INDEX statements: sorting once at the end is cheaper than updating every index
 * row by row. The primary keys stay (SQLite cannot drop them).
 */
export async function withIndexesDeferred<T>(conn: Database, tables: string[], work: () => Promise<T>): Promise<{ result: T; indexMs: number }> {
  const indexes = await all<{ name: string; sql: string }>(
    conn,
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(',')})`,
    tables,
  );
  for (const index of indexes) await exec(conn, `DROP INDEX "${index.name}"`);
  const result = await work();
  const started = Date.now();
  for (const index of indexes) await exec(conn, index.sql);
  return { result, indexMs: Date.now() - started };
}
