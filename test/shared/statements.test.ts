import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../../src/shared/db';
import { isUniqueViolation } from '../../src/shared/errors';
import { inList, insertRows, query, together } from '../../src/shared/statements';
import { dropDatabase, emptyDatabase, freshDatabaseEnv } from '../helpers/database';

describe('inList', () => {
  it('pads a list to the next power of two with its last value, so a statement has few shapes', () => {
    expect(inList(['a'])).toEqual({ sql: '(?)', params: ['a'] });
    expect(inList(['a', 'b', 'c'])).toEqual({ sql: '(?, ?, ?, ?)', params: ['a', 'b', 'c', 'c'] });
    expect(inList(Array.from({ length: 33 }, (_, i) => i)).params).toHaveLength(64);
    expect(inList([]).sql).toBe('(NULL)');
  });
});

/** On a real database (a SQLite file, or the PostgreSQL lane's schema). */
describe('statements sent together in one transaction', () => {
  let dir: string;
  let env: Record<string, string>;
  let db: Db;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-statements-'));
    env = freshDatabaseEnv(dir);
    const database = await emptyDatabase(env);
    db = createDb(database);
    for (const table of ['left_side', 'right_side']) {
      await db.schema.createTable(table, (t) => {
        t.increments('id');
        t.string('name').notNullable().unique();
      });
    }
    await db.schema.createTable('child_side', (t) => {
      t.increments('id');
      t.string('parent').notNullable().references('name').inTable('left_side');
    });
  });
  afterEach(async () => {
    await db.destroy();
    await dropDatabase(env);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const count = async (table: string) => Number((await db(table).count<{ n: number }[]>({ n: '*' }))[0].n);

  it('writes every statement, and an IN list finds exactly the rows it names', async () => {
    await db.transaction((trx) =>
      together(trx, [() => insertRows(trx, 'left_side', ['name'], [['a'], ['b'], ['c']]), () => insertRows(trx, 'right_side', ['name'], [['x'], ['y']])]),
    );
    const among = inList(['a', 'c', 'zz']);
    const found = await db.transaction((trx) => query<{ name: string }>(trx, `SELECT name FROM left_side WHERE name IN ${among.sql} ORDER BY name`, among.params));
    expect(found.map((r) => r.name)).toEqual(['a', 'c']);
    expect(await count('right_side')).toBe(2);
  });

  it('when one statement fails, waits for the others, throws that failure, and the rollback leaves nothing of any', async () => {
    await db('right_side').insert({ name: 'taken' });
    const attempt = db.transaction((trx) =>
      together(trx, [
        () => insertRows(trx, 'left_side', ['name'], [['a'], ['b']]),
        () => insertRows(trx, 'right_side', ['name'], [['taken']]),
        () => insertRows(trx, 'left_side', ['name'], [['c']]),
      ]),
    );
    const error = await attempt.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isUniqueViolation(error)).toBe(true);
    expect(await count('left_side')).toBe(0);
    expect(await count('right_side')).toBe(1);
    // The connection is in a clean state: the next transaction commits.
    await db.transaction((trx) => together(trx, [() => insertRows(trx, 'left_side', ['name'], [['d']])]));
    expect(await count('left_side')).toBe(1);
  });

  it('when a work writes and then reads, or writes one table in several statements, then it sees its own writes, and ids follow the order given', async () => {
    const names = Array.from({ length: 21 }, (_, i) => `n${String(i).padStart(2, '0')}`); // 16 + 5 rows: two statements into one table
    const [seen] = await db.transaction((trx) =>
      together(trx, [
        async () => {
          await insertRows(trx, 'left_side', ['name'], names.map((n) => [n]));
          await insertRows(trx, 'child_side', ['parent'], [['n20']]); // refers to a row the same work wrote
          return query<{ n: number }>(trx, 'SELECT COUNT(*) AS n FROM left_side', []);
        },
        () => insertRows(trx, 'right_side', ['name'], [['x']]),
      ]),
    );
    expect(Number(seen[0].n)).toBe(21);
    const stored = await db('left_side').orderBy('id').pluck('name');
    expect(stored).toEqual(names);
    expect(await count('child_side')).toBe(1);
    expect(await count('right_side')).toBe(1);
  });

  it('when a write of a later work fails its foreign key, then nothing of any work is kept', async () => {
    const attempt = db.transaction((trx) =>
      together(trx, [() => insertRows(trx, 'left_side', ['name'], [['a']]), () => insertRows(trx, 'child_side', ['parent'], [['nobody']])]),
    );
    await expect(attempt).rejects.toThrow();
    expect(await count('left_side')).toBe(0);
    expect(await count('child_side')).toBe(0);
  });
});
