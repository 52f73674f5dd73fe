import sqlite3 from 'sqlite3';
import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { describeSqlite, sqliteFile } from '../helpers/database';
import { FIXED_NOW } from '../ticket-webhooks/fixtures';

/**
 * SQLite's write lock held by another connection (what `npm run stats:rebuild`, `npm run migrate`
 * or a second process does for a moment): write transactions begin IMMEDIATE and wait for it up to
 * busy_timeout; read-only report transactions never take it.
 */
describeSqlite('SQLite write transactions and another connection holding the write lock', () => {
  let t: TestApp;
  let other: sqlite3.Database;
  const run = (sql: string) => new Promise<void>((resolve, reject) => other.exec(sql, (err) => (err ? reject(err) : resolve())));

  beforeEach(async () => {
    t = await bootApp({}, manualClock(FIXED_NOW));
    other = new sqlite3.Database(sqliteFile(t.config));
  });
  afterEach(async () => {
    await run('ROLLBACK').catch(() => undefined);
    await new Promise<void>((resolve) => other.close(() => resolve()));
    await t.close();
  });

  /** Resolves with the SQL of the next statement the service's connection starts whose SQL matches `pattern`. */
  const nextStatement = (pattern: RegExp) =>
    new Promise<string>((resolve) => {
      const listener = (q: { sql: string }) => {
        if (!pattern.test(q.sql)) return;
        t.db.off('query', listener);
        resolve(q.sql);
      };
      t.db.on('query', listener);
    });

  it('when a write transaction is open, then it already holds the write lock; a read-only one does not', async () => {
    await t.db.transaction(async () => {
      await expect(run('PRAGMA busy_timeout = 0; BEGIN IMMEDIATE')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    });
    await t.db.transaction(
      async () => {
        await run('PRAGMA busy_timeout = 0; BEGIN IMMEDIATE');
        await run('ROLLBACK');
      },
      { readOnly: true },
    );
  });

  it('when another connection holds the write lock for a moment, then a report still answers at once, and a webhook waits for the lock and lands 202', async () => {
    await run('BEGIN IMMEDIATE; CREATE TABLE cli_work (n INTEGER); INSERT INTO cli_work VALUES (1)');

    const report = await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`);
    expect(report.status).toBe(200);

    const begun = nextStatement(/^BEGIN/);
    let answered = false;
    const webhook = t.postWebhook(ticketPayload({ ticket_id: 'T-waits' })).then((res) => {
      answered = true;
      return res;
    });
    await begun;
    // A round trip of the lock holder: the webhook's transaction has met the lock meanwhile, and waits.
    await run('INSERT INTO cli_work VALUES (2)');
    expect(answered).toBe(false);

    await run('COMMIT');
    const res = await webhook;
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    expect(await t.db('surveys').where({ ticket_id: 'T-waits' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await t.db('cli_work').count({ n: '*' })).toEqual([{ n: 2 }]); // the other connection's work is whole too
  });

  it('when another connection holds the write lock longer than busy_timeout (5 s), then the webhook answers 503 with Retry-After and stores nothing', async () => {
    await run('BEGIN IMMEDIATE');
    const res = await t.postWebhook(ticketPayload({ ticket_id: 'T-gives-up' }));
    expect([res.status, res.body, res.headers['retry-after']]).toEqual([503, { error: 'unavailable' }, '30']);
    await run('ROLLBACK');
    expect(await t.count('surveys')).toBe(0);
    // Once the lock is free the helpdesk's retry lands.
    expect((await t.postWebhook(ticketPayload({ ticket_id: 'T-gives-up' }))).status).toBe(202);
  });
});
