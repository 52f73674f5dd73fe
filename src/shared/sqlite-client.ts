import Client_SQLite3 from 'knex/lib/dialects/sqlite3';
import Transaction_Sqlite from 'knex/lib/dialects/sqlite3/execution/sqlite-transaction';
import { runPrepared } from './statements';

/**
 * SQLite transactions that take the write lock when they begin. knex begins every SQLite
 * transaction with a plain (deferred) BEGIN and has no option for another. A deferred transaction
 * that reads first (a duplicate check, a claim) and then writes must upgrade its read snapshot to
 * the write lock; if another connection (`npm run stats:rebuild`, `npm run migrate`, a second
 * process) holds the lock or has written since, SQLite answers SQLITE_BUSY at once, without the
 * busy_timeout wait, because waiting could deadlock (sqlite.org/lang_transaction.html). BEGIN
 * IMMEDIATE waits up to busy_timeout for the lock instead, and once it has it no statement of the
 * transaction can meet SQLITE_BUSY. Transactions started with `readOnly` (readTransaction: the
 * reports) keep the plain BEGIN and never take the lock.
 */
class ImmediateTransaction extends Transaction_Sqlite {
  async begin(conn: unknown) {
    await this.query(conn, this.readOnly ? 'BEGIN;' : 'BEGIN IMMEDIATE;');
    // knex settles the transaction with a failed BEGIN's error but then runs its work anyway, and
    // shared/statements.ts writes on the raw connection, outside any transaction: stop it here.
    if (this.isCompleted()) throw new Error('the transaction did not begin');
  }
}

/**
 * The statements that begin and end a transaction, as knex sends them. knex runs each through
 * node-sqlite3's Database#all, which prepares it (a trip through the thread pool), runs it (a
 * second) and finalizes it, twice a transaction; handing a statement to the pool cost about 55 µs
 * of the event loop on this VM (BENCHMARKS.md). They are prepared once per connection instead
 * (shared/statements.ts): one trip each.
 */
const TRANSACTION_CONTROL = new Set(['BEGIN;', 'BEGIN IMMEDIATE;', 'COMMIT;', 'ROLLBACK']);

type QueryObject = { sql?: string; bindings?: unknown[]; response?: unknown; context?: unknown };

/**
 * knex's sqlite3 client, whose transactions are ImmediateTransactions, and whose BEGIN, COMMIT and
 * ROLLBACK run as statements prepared once; pass it as knex's `client`.
 */
export class ImmediateSqliteClient extends Client_SQLite3 {
  transaction(...args: unknown[]) {
    return new ImmediateTransaction(this, ...args);
  }

  async _query(connection: object, obj: QueryObject): Promise<unknown> {
    if (!obj.sql || !TRANSACTION_CONTROL.has(obj.sql) || obj.bindings?.length) return super._query(connection, obj);
    try {
      obj.response = await runPrepared(connection, obj.sql, []);
    } catch (err) {
      // A COMMIT that fails can leave SQLite's transaction open (a foreign key checked at commit;
      // SQLITE_FULL and SQLITE_IOERR "may or may not" roll it back: sqlite.org/lang_transaction.html),
      // and knex, which then rejects the transaction, sends no ROLLBACK: every later BEGIN on the
      // connection would fail. Roll it back here; where SQLite already did, or outside a
      // transaction, this ROLLBACK fails too, and the caller gets the COMMIT's own error.
      if (obj.sql === 'COMMIT;') await runPrepared(connection, 'ROLLBACK', []).catch(() => undefined);
      throw err;
    }
    obj.context = {};
    return obj;
  }
}
