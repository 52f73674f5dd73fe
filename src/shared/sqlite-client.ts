import Client_SQLite3 from 'knex/lib/dialects/sqlite3';
import Transaction_Sqlite from 'knex/lib/dialects/sqlite3/execution/sqlite-transaction';

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

/** knex's sqlite3 client, whose transactions are ImmediateTransactions; pass it as knex's `client`. */
export class ImmediateSqliteClient extends Client_SQLite3 {
  transaction(...args: unknown[]) {
    return new ImmediateTransaction(this, ...args);
  }
}
