import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import type { Knex } from 'knex';
import { describeSqlite, dropDatabase, freshDatabaseEnv, onPostgres, PG_URL } from '../helpers/database';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { startFaultySmtp, type FaultySmtp } from './faulty-smtp';
import { freePort, getReport, LEASE_SECONDS, openDatabase, postWebhook, serviceEnv, sleep, startService, statuses, ticket, waitUntil, type Answer, type Service } from './service-process';

const describePg = onPostgres ? describe : describe.skip;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const REPORT = `/reports/agents?from=${day(-1)}&to=${day(1)}`;

/** How the storage goes away and comes back; `readsFail` when reports cannot be read either. */
type Outage = { readsFail: 'always' | 'maybe'; begin(): Promise<void>; end(): Promise<void> };

type Ctx = { dir: string; smtp: FaultySmtp; database: Record<string, string>; db?: Knex; service?: Service; cleanup: Array<() => Promise<void> | void> };

/** Reports, as the support lead's browser and spreadsheet fetch them. */
async function reports(url: string) {
  const [json, csv, html] = await Promise.all([getReport(url, REPORT), getReport(url, `${REPORT}&format=csv`), getReport(url, `${REPORT}&format=html`, 'text/html')]);
  return { json, csv, html };
}
const withoutClock = (body: Record<string, unknown>) => JSON.stringify(body, (key, value) => (key === 'generated_at' ? undefined : value));

/** A report during an outage is either whole and equal to before (storage still readable), or 503 with nothing of it in the body. */
function expectWholeOr503(during: Awaited<ReturnType<typeof reports>>, before: Awaited<ReturnType<typeof reports>>, readsFail: Outage['readsFail']) {
  for (const [format, a] of Object.entries(during) as Array<[keyof typeof during, Answer]>) {
    if (a.status === 503 || readsFail === 'always') {
      expect([format, a.status, a.retryAfter]).toEqual([format, 503, '30']);
      if (format === 'json') expect(a.body).toEqual({ error: 'unavailable' });
      expect(a.text).not.toMatch(/agent_id|surveys_sent|<table|Agent \d/); // not a byte of the report
    } else {
      expect([format, a.status]).toEqual([format, 200]);
      if (format === 'json') expect(withoutClock(a.body)).toBe(withoutClock(before.json.body));
      if (format === 'csv') expect(a.text).toBe(before.csv.text);
      if (format === 'html') expect(a.text).toContain('<table');
    }
  }
}

/**
 * What must hold around an outage of the service's storage, for a real process: webhooks answer 503
 * (never 500) and store nothing, reports answer 503 with nothing partial (or, where storage can still
 * be read, the whole report), the process stays up, and once storage is back it works again by
 * itself: refused webhooks land on a re-send and every survey is delivered.
 */
async function outageScenario(ctx: Ctx, serviceDatabase: Record<string, string>, outage: Outage) {
  const env = serviceEnv(serviceDatabase, await freePort(), { SMTP_URL: ctx.smtp.url, DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS), DELIVERY_MAX_ATTEMPTS: '50' });
  const service = await startService(env);
  ctx.service = service;
  const db = openDatabase(ctx.database);
  ctx.db = db;
  const post = (n: number) => postWebhook(service.url, ticket(`DB-${n}`, n));
  const surveysOf = async (from: number, to: number) =>
    db('surveys').whereIn('ticket_id', Array.from({ length: to - from }, (_, i) => `DB-${from + i}`)).select('ticket_id');

  // Before: ten surveys in and delivered.
  for (const a of await Promise.all(Array.from({ length: 10 }, (_, n) => post(n)))) expect(a.status).toBe(202);
  await waitUntil(service, async () => (await statuses(db, 'surveys')).sent === 10, 60_000, async () => `10 sent; ${JSON.stringify(await statuses(db, 'surveys'))}`);
  const before = await reports(service.url);
  expect([before.json.status, before.json.body.overall]).toEqual([200, expect.objectContaining({ surveys_sent: 10 })]);

  // From here until storage is back the relay defers (451), so no survey becomes "sent" and a report that can
  // still be read during the outage must equal the one before it.
  ctx.smtp.state.fault = 'tempfail451';

  // Storage goes away while six webhooks are in flight: each lands (2xx) or is refused (503), never a 500.
  // (These sleeps pace the traffic, so that the outage begins part-way through it; nothing is asserted after them.)
  const burst = Promise.all(Array.from({ length: 6 }, (_, i) => sleep(i * 25).then(() => post(10 + i))));
  await sleep(70);
  const logFrom = service.output.text.length;
  await outage.begin();
  const burstAnswers = await burst;
  for (const a of burstAnswers) expect([202, 503]).toContain(a.status);

  // During: every webhook 503 with Retry-After, and nothing of it stored; reports whole or 503; readiness says so.
  const refusing = Date.now();
  const [refused, during] = await Promise.all([Promise.all([16, 17, 18, 19].map(post)), reports(service.url)]);
  const refusedMs = Date.now() - refusing;
  for (const a of refused) expect([a.status, a.body, a.retryAfter]).toEqual([503, { error: 'unavailable' }, '30']);
  expectWholeOr503(during, before, outage.readsFail);
  if (outage.readsFail === 'always') expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
  // The worker runs into the outage, and the process stays up. Instead of a fixed sleep: while an email is pending (the
  // relay defers them) the worker has to write to the storage that is gone, so wait until its log says that failed.
  if (await db('outbox').where({ status: 'pending' }).first()) {
    const workerFailed = () => /outbox poll failed|delivery step failed/.test(service.output.text.slice(logFrom));
    await waitUntil(service, workerFailed, 60_000, () => 'the worker to log a failure against the storage that is gone');
  }
  service.assertRunning();
  expect(await surveysOf(16, 20)).toEqual([]);

  await outage.end();

  // Back by itself, no restart: the helpdesk's re-sends land; those refused during the outage are new, not duplicates.
  const resend = async (n: number): Promise<Answer> => {
    for (let tries = 0; ; tries += 1) {
      const a = await post(n);
      if (a.status !== 503 || tries >= 100) return a;
      await sleep(200); // pacing: a helpdesk's re-sends come at intervals, not in a tight loop
    }
  };
  const again = await Promise.all([16, 17, 18, 19].map(resend));
  for (const a of again) expect([a.status, a.body.status]).toEqual([202, 'scheduled']);
  const burstAgain = await Promise.all(burstAnswers.map((a, i) => (a.status === 503 ? resend(10 + i) : Promise.resolve(a))));
  for (const a of burstAgain) expect([202, 200]).toContain(a.status);
  expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  ctx.smtp.state.fault = 'none';

  // Afterwards: one survey per ticket, all delivered, each exactly once at the SMTP server (rows claimed when the
  // outage began, whose outcome could not be written, come back once their lease has run out).
  await waitUntil(service, async () => JSON.stringify(await statuses(db, 'surveys')) === JSON.stringify({ sent: 20 }), LEASE_SECONDS * 1000 + 90_000, async () => `20 sent; ${JSON.stringify(await statuses(db, 'surveys'))}`);
  const rows: Array<{ ticket_id: string; message_id: string }> = await db('surveys').select('ticket_id', 'message_id');
  expect(new Set(rows.map((r) => r.ticket_id)).size).toBe(20);
  const counts = ctx.smtp.counts();
  expect(rows.filter((r) => counts.get(r.message_id) !== 1).map((r) => [r.ticket_id, counts.get(r.message_id) ?? 0])).toEqual([]);
  expect(ctx.smtp.arrived).toHaveLength(20);
  console.log(
    `database outage: burst answered ${JSON.stringify(burstAnswers.map((a) => a.status))}, ended as ${JSON.stringify(burstAgain.map((a) => a.body.status))}; ` +
      `webhooks refused and reports answered within ${refusedMs} ms, reports: ${JSON.stringify(Object.fromEntries(Object.entries(during).map(([k, a]) => [k, a.status])))}`,
  );

  const after = await getReport(service.url, REPORT);
  expect([after.status, after.body.overall]).toEqual([200, expect.objectContaining({ surveys_sent: 20, failed: 0 })]);
  expect(await service.stop()).toBe(0);
}

describe('the service while its database is unavailable', () => {
  const ctx = {} as Ctx;

  beforeEach(async () => {
    ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-faults-db-'));
    ctx.smtp = await startFaultySmtp();
    ctx.database = freshDatabaseEnv(ctx.dir);
    ctx.cleanup = [];
    ctx.db = undefined;
    ctx.service = undefined;
  });
  afterEach(async () => {
    for (const undo of ctx.cleanup.reverse()) await undo();
    await ctx.service?.kill();
    await ctx.db?.destroy();
    await ctx.smtp.close();
    await dropDatabase(ctx.database);
    fs.rmSync(ctx.dir, { recursive: true, force: true });
  });

  describeSqlite('on SQLite', () => {
    const file = () => ctx.database.DATABASE_URL.replace(/^sqlite:/, '');

    it('when another process holds the write lock, then webhooks answer 503 and store nothing, reports are whole or 503, and all works again once the lock is released', async () => {
      let other: sqlite3.Database | undefined;
      const exec = (sql: string) => new Promise<void>((resolve, reject) => other!.exec(sql, (err) => (err ? reject(err) : resolve())));
      const release = async () => {
        if (!other) return;
        await exec('ROLLBACK').catch(() => undefined);
        await new Promise<void>((resolve) => other!.close(() => resolve()));
        other = undefined;
      };
      ctx.cleanup.push(release);
      await outageScenario(ctx, ctx.database, {
        // WAL readers are not blocked by a writer, but requests queue for the one connection behind writes that wait for the lock.
        readsFail: 'maybe',
        async begin() {
          other = new sqlite3.Database(file());
          await exec('PRAGMA busy_timeout = 10000; BEGIN IMMEDIATE');
        },
        end: release,
      });
    }, 300_000);

    // "Read-only" for real: the tests run as root, who ignores file modes, but not the immutable attribute
    // (chattr +i): writes through the service's open descriptors fail with EPERM, which SQLite reports as
    // SQLITE_IOERR, as on a disk that went read-only. Needs a filesystem and capability that allow chattr.
    const immutable = immutableFilesWork(os.tmpdir());
    (immutable ? it : it.skip)('when the database files become read-only, then webhooks answer 503 and store nothing, reports stay whole, and all works again once they are writable', async () => {
      const files = () => [file(), `${file()}-wal`].filter((f) => fs.existsSync(f));
      const writable = () => {
        for (const f of files()) execFileSync('chattr', ['-i', f]);
      };
      ctx.cleanup.push(writable);
      await outageScenario(ctx, ctx.database, {
        readsFail: 'maybe',
        begin: async () => {
          for (const f of files()) execFileSync('chattr', ['+i', f]);
        },
        end: async () => writable(),
      });
    }, 300_000);
    if (!immutable) console.warn('database-outage: chattr +i does not work here; the read-only SQLite case is skipped');
  });

  describePg('on PostgreSQL', () => {
    it('when the server stops answering, then webhooks and reports answer 503 with nothing stored or partial, and all works again once it is back', async () => {
      const server = new URL(PG_URL!);
      const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
      ctx.cleanup.push(() => proxy.close());
      const viaProxy = new URL(PG_URL!);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      // Each request waits this long for a connection before it answers 503: short keeps the outage brief, but a busy
      // machine can take a second to open one even when the server is there (then a webhook before the outage got 503,
      // or a sent email could not be marked within its lease and went out twice).
      await outageScenario(ctx, { ...ctx.database, DATABASE_URL: viaProxy.toString(), DB_ACQUIRE_TIMEOUT_MS: '5000' }, {
        readsFail: 'always',
        begin: () => proxy.cut(),
        end: () => proxy.restore(),
      });
    }, 300_000);
  });
});

/** Whether chattr +i really stops a write through an open descriptor here (ext4 and CAP_LINUX_IMMUTABLE do; tmpfs, overlayfs or a container may not). */
function immutableFilesWork(dir: string): boolean {
  const probe = path.join(fs.mkdtempSync(path.join(dir, 'closeloop-chattr-')), 'probe');
  const fd = fs.openSync(probe, 'w');
  try {
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
  } catch {
    fs.closeSync(fd);
    fs.rmSync(path.dirname(probe), { recursive: true });
    return false;
  }
  try {
    fs.writeSync(fd, 'x');
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  } finally {
    execFileSync('chattr', ['-i', probe]);
    fs.closeSync(fd);
    fs.rmSync(path.dirname(probe), { recursive: true });
  }
}
