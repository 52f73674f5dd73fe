import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { createDb, readTransaction, type Db } from '../../src/shared/db';
import { describeSqlite } from '../helpers/database';

/**
 * knex prepares, runs and finalizes each BEGIN and COMMIT afresh (two trips through the thread
 * pool); the SQLite client runs them as statements prepared once per connection
 * (shared/sqlite-client.ts). What a transaction does must not change with it.
 */
describeSqlite('SQLite transactions begun and ended by statements prepared once', () => {
  let dir: string;
  let db: Db;
  const prepared: string[] = [];
  let prepare: jest.SpyInstance;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-sqlite-client-'));
    db = createDb(path.join(dir, 'db.sqlite'));
    await db.schema.createTable('things', (t) => {
      t.string('name').primary();
    });
    prepared.length = 0;
    const original = sqlite3.Database.prototype.prepare;
    prepare = jest.spyOn(sqlite3.Database.prototype, 'prepare').mockImplementation(function (this: sqlite3.Database, sql: string, ...rest: unknown[]) {
      prepared.push(sql);
      return (original as (...args: unknown[]) => sqlite3.Statement).call(this, sql, ...rest);
    } as typeof original);
  });
  afterEach(async () => {
    prepare.mockRestore();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const names = async () => (await db('things').orderBy('name').select('name')).map((r: { name: string }) => r.name);
  const timesPrepared = (sql: string) => prepared.filter((s) => s === sql).length;

  it('when many transactions commit and roll back, then each of BEGIN IMMEDIATE, BEGIN, COMMIT and ROLLBACK is prepared once, and each transaction lands whole or not at all', async () => {
    for (let i = 0; i < 10; i++) {
      await db.transaction(async (trx) => {
        await trx('things').insert({ name: `kept-${i}` });
      });
      await expect(
        db.transaction(async (trx) => {
          await trx('things').insert({ name: `dropped-${i}` });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await readTransaction(db, (trx) => trx('things').count({ n: '*' }))).toEqual([{ n: i + 1 }]);
    }
    expect(await names()).toEqual(Array.from({ length: 10 }, (_, i) => `kept-${i}`).sort());
    expect(['BEGIN IMMEDIATE;', 'BEGIN;', 'COMMIT;', 'ROLLBACK'].map(timesPrepared)).toEqual([1, 1, 1, 1]);
  });

  it('when a write fails inside a transaction, then the rollback leaves the earlier writes of that transaction out too, and the next transaction begins', async () => {
    await db('things').insert({ name: 'taken' });
    await expect(
      db.transaction(async (trx) => {
        await trx('things').insert({ name: 'first' });
        await trx('things').insert({ name: 'taken' });
      }),
    ).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
    await db.transaction(async (trx) => {
      await trx('things').insert({ name: 'after' });
    });
    expect(await names()).toEqual(['after', 'taken']);
  });

  it('when a foreign key checked at COMMIT is broken, then COMMIT fails, nothing of the transaction stays, and the connection begins the next one', async () => {
    await db.schema.createTable('parts', (t) => {
      t.string('thing').notNullable().references('name').inTable('things');
    });
    await expect(
      db.transaction(async (trx) => {
        await trx.raw('PRAGMA defer_foreign_keys = ON');
        await trx('things').insert({ name: 'orphaned-with' });
        await trx('parts').insert({ thing: 'missing' }); // accepted until COMMIT
      }),
    ).rejects.toThrow(/FOREIGN KEY constraint failed/);
    await db.transaction(async (trx) => {
      // The next transaction checks foreign keys statement by statement again.
      await expect(trx('parts').insert({ thing: 'later' })).rejects.toThrow(/FOREIGN KEY constraint failed/);
      await trx('things').insert({ name: 'later' });
      await trx('parts').insert({ thing: 'later' });
    });
    expect(await names()).toEqual(['later']);
    expect(await db('parts').select('thing')).toEqual([{ thing: 'later' }]);
  });

  it('when COMMIT is sent twice (a transaction ended by hand), then the second fails as SQLite says, and the connection goes on', async () => {
    // A statement that fails is finalized, not kept (shared/statements.ts): the next COMMIT is prepared afresh and works.
    await db.transaction(async (trx) => {
      await trx('things').insert({ name: 'one' });
    });
    await expect(db.raw('COMMIT;')).rejects.toThrow(/no transaction is active/);
    await db.transaction(async (trx) => {
      await trx('things').insert({ name: 'two' });
    });
    expect(await names()).toEqual(['one', 'two']);
  });
});
