import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBatchWriter, GATHER_TURNS, type ItemOutcome } from '../../src/shared/batch';
import { createDb, type Db } from '../../src/shared/db';
import { insertRows, query } from '../../src/shared/statements';
import { dropDatabase, emptyDatabase, freshDatabaseEnv, refuseWrites } from '../helpers/database';

/** Group commit on a real database (a SQLite file, or the PostgreSQL lane's schema). */
describe('createBatchWriter', () => {
  let dir: string;
  let env: Record<string, string>;
  let db: Db;
  let other: Db;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-batch-'));
    env = freshDatabaseEnv(dir);
    const database = await emptyDatabase(env);
    db = createDb(database);
    other = createDb(database); // a second connection (a second process on SQLite) that only reads
    await db.schema.createTable('items', (t) => {
      t.increments('id');
      t.string('name').notNullable().unique();
    });
  });
  afterEach(async () => {
    await db.destroy();
    await other.destroy();
    await dropDatabase(env);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const names = async () => (await other('items').orderBy('name').select('name')).map((r) => r.name as string);

  /** Inserts each name with its own statement, as a write that can fail midway would. */
  const insertEach = async (trx: Parameters<Parameters<Db['transaction']>[0]>[0], items: string[]): Promise<ItemOutcome<string>[]> => {
    for (const name of items) await query(trx, 'INSERT INTO items (name) VALUES (?)', [name]);
    return items.map((name) => ({ ok: true, value: name }));
  };

  it('begins a transaction for an item at an idle writer at once, without waiting for company', async () => {
    const sizes: number[] = [];
    const writer = createBatchWriter({ db, maxItems: 8, write: insertEach, onCommit: (n) => sizes.push(n) });
    expect(await writer.submit('alone')).toBe('alone');
    expect(await writer.submit('alone again')).toBe('alone again');
    expect(sizes).toEqual([1, 1]);
  });

  it('takes the items waiting once its BEGIN has come back: those arriving meanwhile join it, at most maxItems each transaction', async () => {
    const sizes: number[] = [];
    const writer = createBatchWriter({ db, maxItems: 8, write: insertEach, onCommit: (n) => sizes.push(n) });
    // The first item begins a transaction; the other twenty arrive before its BEGIN comes back.
    const answers = await Promise.all(Array.from({ length: 21 }, (_, i) => writer.submit(`n${String(i).padStart(2, '0')}`)));
    expect(answers).toEqual(Array.from({ length: 21 }, (_, i) => `n${String(i).padStart(2, '0')}`));
    expect(sizes).toEqual([8, 8, 5]);
    expect(await names()).toHaveLength(21);
  });

  it('when items keep arriving one per turn of the event loop after BEGIN is back, then the transaction waits for them while they come, up to GATHER_TURNS turns', async () => {
    const sizes: number[] = [];
    const writer = createBatchWriter({ db, maxItems: 64, write: insertEach, onCommit: (n) => sizes.push(n) });
    await writer.submit('warm'); // its BEGIN and inserts are prepared now, as on a service that has run a while
    // A client of many connections answered together: each request reaches the writer on a turn of
    // its own, after the event loop has parsed it (a fifth of a millisecond each, as in the bench).
    const parse = () => {
      const until = process.hrtime.bigint() + 200_000n;
      while (process.hrtime.bigint() < until);
    };
    const answers: Promise<string>[] = [];
    await new Promise<void>((done) => {
      const arrive = (i: number) => {
        if (i === 40) return done();
        parse();
        answers.push(writer.submit(`n${String(i).padStart(2, '0')}`));
        setImmediate(() => arrive(i + 1));
      };
      arrive(0);
    });
    expect(await Promise.all(answers)).toHaveLength(40);
    // The first transaction of the forty took the item that began it, those there when BEGIN came back, and one more each turn it waited.
    expect(sizes[1]).toBeGreaterThanOrEqual(1 + GATHER_TURNS);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(41);
    expect(await names()).toHaveLength(41);
  });

  it('answers an item only once its transaction is committed: another connection already sees it', async () => {
    const writer = createBatchWriter({ db, maxItems: 64, write: insertEach });
    const seen = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (name) => {
        await writer.submit(name);
        return (await names()).includes(name);
      }),
    );
    expect(seen).toEqual([true, true, true, true]);
  });

  it('answers a committed transaction\'s items only once the next transaction has begun, so the database does not wait for the answering', async () => {
    const events: string[] = [];
    db.on('query', (q: { sql: string }) => {
      if (/^BEGIN/i.test(q.sql)) events.push('begin');
    });
    let writingA!: () => void;
    const aInside = new Promise<void>((resolve) => (writingA = resolve));
    const writer = createBatchWriter<string, string>({
      db,
      maxItems: 64,
      write: (trx, items) => {
        if (items.includes('a')) writingA();
        return insertEach(trx, items);
      },
    });
    const first = writer.submit('a').then(() => events.push('answered a'));
    await aInside; // b and c arrive while a's transaction runs
    const rest = Promise.all(['b', 'c'].map((n) => writer.submit(n))).then(() => events.push('answered b, c'));
    await Promise.all([first, rest]);
    expect(events).toEqual(['begin', 'begin', 'answered a', 'answered b, c']);
  });

  it('when one item breaks the shared transaction (a unique name taken), only that item fails; the others are written once', async () => {
    await db('items').insert({ name: 'taken' });
    const sizes: number[] = [];
    const writer = createBatchWriter({ db, maxItems: 64, write: insertEach, onCommit: (n) => sizes.push(n) });
    const results = await Promise.allSettled(['first', 'b', 'taken', 'c', 'd'].map((n) => writer.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/unique|UNIQUE/);
    expect(await names()).toEqual(['b', 'c', 'd', 'first', 'taken']);
    // All five together: that failed, so each was tried alone (taken failed again).
    expect(sizes).toEqual([1, 1, 1, 1]);
  });

  it('an item the writer refuses gets its own error and nothing of it is written; its neighbours commit together', async () => {
    const sizes: number[] = [];
    const writer = createBatchWriter<string, string>({
      db,
      maxItems: 64,
      onCommit: (n) => sizes.push(n),
      write: async (trx, items) => {
        const kept = items.filter((n) => !n.startsWith('bad'));
        await insertRows(trx, 'items', ['name'], kept.map((n) => [n]));
        return items.map((n) => (n.startsWith('bad') ? { ok: false, error: new Error(`refused ${n}`) } : { ok: true, value: n }));
      },
    });
    const results = await Promise.allSettled(['x', 'y', 'bad-1', 'z'].map((n) => writer.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toBe('refused bad-1');
    expect(await names()).toEqual(['x', 'y', 'z']);
    expect(sizes).toEqual([4]);
  });

  it('when the database refuses every write, every item fails and nothing is stored; the writer works again afterwards', async () => {
    const undo = await refuseWrites(db, 'items', 'disk full', ['INSERT']);
    const writer = createBatchWriter({ db, maxItems: 64, write: insertEach });
    const results = await Promise.allSettled(['p', 'q', 'r'].map((n) => writer.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await undo();
    expect(await names()).toEqual([]);
    await expect(Promise.all(['p', 'q'].map((n) => writer.submit(n)))).resolves.toEqual(['p', 'q']);
    expect(await names()).toEqual(['p', 'q']);
  });

  it('when a shared transaction failed waiting for the database (SQLITE_BUSY after busy_timeout), then all its items fail at once, none is retried alone', async () => {
    const sizes: number[] = [];
    const writer = createBatchWriter<string, string>({
      db,
      maxItems: 64,
      write: async (_trx, items) => {
        sizes.push(items.length);
        throw Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' });
      },
    });
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((n) => writer.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason.code).toBe('SQLITE_BUSY');
    // All four together; without the rule they would be tried again one by one: [4, 1, 1, 1, 1].
    expect(sizes).toEqual([4]);
  });

  it('multi-row inserts split any number of rows into chunks of 64, 32, … 1 and keep their order', async () => {
    await db.transaction((trx) => insertRows(trx, 'items', ['name'], Array.from({ length: 203 }, (_, i) => [`r${String(i).padStart(3, '0')}`])));
    const rows = await other('items').orderBy('id').select('name');
    expect(rows.map((r) => r.name)).toEqual(Array.from({ length: 203 }, (_, i) => `r${String(i).padStart(3, '0')}`));
  });
});
