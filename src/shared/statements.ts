import type { Knex } from 'knex';

/**
 * Plain SQL for the hot write paths (the batch writers and the ledger). knex builds, and
 * node-sqlite3 prepares, every statement afresh: 0.1–0.7 ms each on SQLite's one connection,
 * most of a webhook's cost (BENCHMARKS.md). These statements are written once as SQL that both
 * engines read (double-quoted names, `?` placeholders) and, on SQLite, prepared once per
 * connection and reused; on PostgreSQL they go through knex.raw, which numbers the placeholders.
 */

type SqliteStatement = {
  all(params: unknown[], cb: (err: Error | null, rows: Record<string, unknown>[]) => void): void;
  finalize(cb: () => void): void;
};
type SqliteConnection = { prepare(sql: string): SqliteStatement };

const prepared = new WeakMap<object, Map<string, SqliteStatement>>();
/** Statements kept per connection; the hot paths use at most a few hundred shapes (18 per table written by insertRows). */
const MAX_PREPARED = 512;

function forget(statements: Map<string, SqliteStatement>): Promise<void[]> {
  const all = [...statements.values()];
  statements.clear();
  return Promise.all(all.map((s) => new Promise<void>((resolve) => s.finalize(resolve))));
}

/** Runs `sql` with `params` in `trx` and returns its rows (none for writes). */
export async function query<T = Record<string, unknown>>(trx: Knex.Transaction, sql: string, params: readonly unknown[]): Promise<T[]> {
  if (trx.client.config.client === 'pg') return (await trx.raw<{ rows: T[] }>(sql, params as Knex.RawBinding[])).rows;
  // knex refuses a settled transaction's queries; these bypass knex, so refuse them here, or they would run outside it.
  if (trx.isCompleted()) throw new Error('Transaction query already complete');
  // Inside a transaction, knex hands back the transaction's own connection.
  return runPrepared<T>((await trx.client.acquireConnection()) as object, sql, params);
}

/**
 * Runs `sql` with `params` on a SQLite connection, with a statement prepared once for that
 * connection and kept: the hot statements, and the BEGIN and COMMIT of every transaction
 * (sqlite-client.ts). Answers its rows (none for writes).
 */
export function runPrepared<T = Record<string, unknown>>(sqlite: object, sql: string, params: readonly unknown[]): Promise<T[]> {
  const connection = sqlite as SqliteConnection;
  let statements = prepared.get(connection);
  if (!statements) prepared.set(connection, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) {
    if (statements.size >= MAX_PREPARED) void forget(statements); // SQLite finalizes them after the runs already queued; nothing waits for it
    statements.set(sql, (statement = connection.prepare(sql)));
  }
  const ready = statement;
  return new Promise<T[]>((resolve, reject) =>
    ready.all([...params], (err, rows) => {
      if (!err) return resolve(rows as T[]);
      // A statement that failed (to prepare, or midway: SQLITE_BUSY) is finalized, not kept: left
      // unreset it would hold its read snapshot, and every later write would fail against it.
      statements.delete(sql);
      ready.finalize(() => reject(err));
    }),
  );
}

/**
 * Finalizes the statements prepared on a SQLite connection; SQLite will not close a connection
 * that still has some. createDb calls it before the pool closes a connection.
 */
export async function finalizeStatements(connection: object): Promise<void> {
  const statements = prepared.get(connection);
  if (!statements) return;
  prepared.delete(connection);
  await forget(statements);
}

/** The most rows one multi-row statement carries; more are split. */
const MAX_ROWS = 64;
/** Up to this many rows go in one statement of their own shape; more in chunks of 64, 32 and 16 first. */
const EXACT_ROWS = 16;

/** How many of `remaining` rows the next statement carries. */
function chunkSize(remaining: number): number {
  if (remaining <= EXACT_ROWS) return remaining;
  let size = MAX_ROWS;
  while (size > remaining) size /= 2;
  return size;
}

/**
 * Inserts `rows` (arrays of values in `columns` order) with `suffix` after the VALUES list (an
 * ON CONFLICT clause, say). Up to 16 rows go in one statement; more in chunks of 64, 32 and 16
 * and then the rest, so a table needs at most 18 prepared shapes whatever the batch sizes, and a
 * small batch (few concurrent webhooks) writes each table in one statement instead of one per
 * power of two in its size (each statement is a trip through the thread pool).
 */
export async function insertRows(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly unknown[][], suffix = ''): Promise<void> {
  // Chunks one after another: rows get ascending ids in the order given (rating events are read back by id).
  for (let at = 0; at < rows.length; ) {
    const size = chunkSize(rows.length - at);
    await query(trx, insertSql(table, columns, size, suffix), rows.slice(at, at + size).flat());
    at += size;
  }
}

/**
 * Independent statements of one transaction, sent together on SQLite: each awaited statement costs
 * a trip through the event loop and the thread pool, and under load those trips, not SQLite, are
 * most of a transaction's time. Sent together they queue on the transaction's one connection and
 * run back to back. Only for statements whose order does not matter (different tables, or rows no
 * other of them touches). Waits for every one, so no statement is still running when a failure
 * rolls the transaction back, and throws the first failure. On PostgreSQL they run one after
 * another (node-postgres deprecates overlapping queries on one connection).
 */
export async function together<T extends readonly (() => unknown)[] | []>(
  trx: Knex.Transaction,
  work: T,
): Promise<{ -readonly [K in keyof T]: T[K] extends () => infer R ? Awaited<R> : never }> {
  type Results = { -readonly [K in keyof T]: T[K] extends () => infer R ? Awaited<R> : never };
  if (trx.client.config.client === 'pg') {
    const results: unknown[] = [];
    for (const run of work) results.push(await run());
    return results as Results;
  }
  // A thunk that throws at once becomes a rejection like the others, so the ones already sent are still awaited.
  const settled = await Promise.allSettled(work.map((run) => new Promise((resolve) => resolve(run()))));
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as Results;
}

const insertSqls = new Map<string, string>();

function insertSql(table: string, columns: readonly string[], rows: number, suffix: string): string {
  const key = `${table}\u0000${columns.join(',')}\u0000${rows}\u0000${suffix}`;
  let sql = insertSqls.get(key);
  if (!sql) {
    const row = `(${columns.map(() => '?').join(', ')})`;
    sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}${suffix ? ` ${suffix}` : ''}`;
    insertSqls.set(key, sql);
  }
  return sql;
}

/** `(?, ?, …)` for a list of `n` values in an IN clause. */
const placeholders = (n: number) => `(${Array(n).fill('?').join(', ')})`;

/**
 * An IN list of `values`: its `(?, ?, …)` and its parameters, padded to a power of two by
 * repeating the last value (the same set). A statement then has at most seven shapes to prepare
 * (1, 2, 4, … 64 values) instead of one per batch size; a fresh shape costs a prepare, and under a
 * changing load every size shows up.
 */
export function inList<T>(values: readonly T[]): { sql: string; params: T[] } {
  if (values.length === 0) return { sql: '(NULL)', params: [] };
  let size = 1;
  while (size < values.length) size *= 2;
  const params = [...values];
  while (params.length < size) params.push(values[values.length - 1]);
  return { sql: placeholders(size), params };
}
