import sqlite3 from 'sqlite3';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { describeSqlite, refuseWrites, sqliteFile } from '../helpers/database';
import { expectNothingStored } from './fixtures';

/** A second connection to the same SQLite file, as another process (a backup, a migration, a stuck writer) would hold it. */
function openOther(file: string) {
  const conn = new sqlite3.Database(file);
  const exec = (sql: string) => new Promise<void>((resolve, reject) => conn.exec(sql, (err) => (err ? reject(err) : resolve())));
  return { exec, close: () => new Promise<void>((resolve) => conn.close(() => resolve())) };
}

describeSqlite('POST /webhooks/ticket-closed when storage fails', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp();
    // The app waits up to 5 s for a lock; shorten that wait on its (single) connection to keep the test fast.
    await t.db.raw('PRAGMA busy_timeout = 200');
  });
  afterEach(async () => {
    await t.close();
  });

  it('when another process holds the write lock, then 503 unavailable with Retry-After, nothing stored, and a retry later lands once', async () => {
    const other = openOther(sqliteFile(t.config));
    await other.exec('BEGIN IMMEDIATE');
    const payload = ticketPayload();
    let res;
    try {
      res = await t.postWebhook(payload);
    } finally {
      await other.exec('ROLLBACK');
      await other.close();
    }
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'unavailable' });
    expect(res.headers['retry-after']).toBe('30');
    await expectNothingStored(t);

    // The helpdesk retries the same delivery: because nothing landed, it is scheduled, not a duplicate.
    const retry = await t.postWebhook(payload);
    expect(retry.status).toBe(202);
    expect(retry.body.status).toBe('scheduled');
    expect(await t.count('surveys')).toBe(1);
    expect(await t.count('outbox')).toBe(1);
  });

  it('when the database has become read-only, then 503 unavailable and nothing stored', async () => {
    await t.db.raw('PRAGMA query_only = ON'); // SQLite answers writes with SQLITE_READONLY, as on a read-only mount
    const res = await t.postWebhook(ticketPayload());
    await t.db.raw('PRAGMA query_only = OFF');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'unavailable' });
    await expectNothingStored(t);
  });

});

describe('POST /webhooks/ticket-closed when one write of its transaction fails', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('when the outbox insert fails after the survey row was written, then the survey row is rolled back too', async () => {
    // Not an outage (so 500, not 503): this checks the all-or-nothing transaction, not the status mapping.
    const repair = await refuseWrites(t.db, 'outbox', 'outbox broken', ['INSERT']);
    const payload = ticketPayload();
    const res = await t.postWebhook(payload);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'internal_error', request_id: expect.any(String) });
    await expectNothingStored(t);

    await repair();
    const retry = await t.postWebhook(payload);
    expect(retry.status).toBe(202);
  });
});
