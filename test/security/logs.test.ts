/**
 * Issue 16: "knex puts bound values into error messages, and those messages are logged on storage
 * errors (a PostgreSQL outage during a batch can log up to 64 customers' emails, names and
 * subjects, or a comment)". A storage failure must log the error's code, class and the driver's
 * own short message, never the statement with its values nor PostgreSQL's `detail` (which quotes
 * the failing row). Where the old code leaked: knex's messages on SQLite (the query builder inlines
 * values; the batch writers' statements, shared/statements.ts, bind without it) and, on PostgreSQL,
 * the `detail` of constraint errors, which the old unhandled-error line logged whole.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import knex from 'knex';
import request from 'supertest';
import { createLogger, safeError } from '../../src/shared/logger';
import { createDb } from '../../src/shared/db';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { onPostgres, refuseRows, storageUnavailable } from '../helpers/database';
import { surveyWithToken } from '../ratings/fixtures';

/** A logger whose JSON lines the test reads back. */
function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { logger: createLogger('info', sink), lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

/** Eight customers whose every detail is easy to find in a log. */
const customers = Array.from({ length: 8 }, (_, i) => ({
  email: `zebulon.${i}@quartermaine.example`,
  name: `Zebulon Quartermaine ${i}`,
  subject: `Xyzzy refund for invoice ${i}`,
}));
const CUSTOMER_DATA = /zebulon|quartermaine|xyzzy/i;

describe('storage failures are logged without customer data', () => {
  let t: TestApp;
  let log: ReturnType<typeof capturedLogger>;

  beforeEach(async () => {
    log = capturedLogger();
    t = await bootApp({}, undefined, log.logger);
  });
  afterEach(() => t.close());

  const postBatch = () =>
    Promise.all(customers.map((c) => t.postWebhook(ticketPayload({ customer: { email: c.email, name: c.name }, subject: c.subject }))));
  const linesOf = (msg: string) => log.entries().filter((e) => e.msg === msg);

  it('when the database refuses the rows of a batch of webhooks (500), then the log has the code and the driver message, and no email, name or subject', async () => {
    const undo = await refuseRows(t.db, 'surveys', 'customer_email', 'zebulon%');
    const answers = await postBatch();
    await undo();
    expect(answers.map((r) => r.status)).toEqual(customers.map(() => 500));

    const errors = linesOf('unhandled error');
    expect(errors.length).toBe(customers.length); // positive control: every failure was logged
    for (const e of errors) {
      expect(e.err).toMatchObject({ code: onPostgres ? '23514' : 'SQLITE_CONSTRAINT', message: expect.stringContaining('refuse_surveys_customer_email') });
      expect(typeof e.err.type).toBe('string');
      expect(e.err).not.toHaveProperty('detail');
    }
    expect(log.lines.join('\n')).not.toMatch(CUSTOMER_DATA);
  });

  it('when storage becomes unavailable during a batch of webhooks (503), then the log has no email, name or subject', async () => {
    const undo = await storageUnavailable(t.db, 'disk full in the test');
    const answers = await postBatch();
    await undo();
    expect(answers.map((r) => r.status)).toEqual(customers.map(() => 503));

    const errors = linesOf('storage unavailable');
    expect(errors.length).toBe(customers.length);
    for (const e of errors) {
      expect(e.err.code).toBe(onPostgres ? '53100' : 'SQLITE_READONLY');
      expect(e.err.message).toMatch(onPostgres ? /disk full in the test/ : /readonly/);
    }
    expect(log.lines.join('\n')).not.toMatch(CUSTOMER_DATA);
  });

  it('when storage becomes unavailable as a customer unsubscribes (503), then the log has no address', async () => {
    const [ann] = customers;
    const { surveyId } = await surveyWithToken(t, { customer: { email: ann.email, name: ann.name } });
    const prepared = await t.services.surveys.prepareEmail(surveyId);
    if (!('unsubscribeToken' in prepared)) throw new Error('Ann has not opted out: her email has an unsubscribe link');
    const { unsubscribeToken } = prepared;
    const undo = await storageUnavailable(t.db, 'disk full in the test');
    const res = await request(t.app).post(`/u/${unsubscribeToken}`).type('form').send('List-Unsubscribe=One-Click');
    await undo();
    expect(res.status).toBe(503);
    expect(linesOf('storage unavailable')).toHaveLength(1);
    expect(log.lines.join('\n')).not.toMatch(CUSTOMER_DATA);
  });

  it('when the database refuses a rating with a comment, then the log has no comment', async () => {
    const { token } = await surveyWithToken(t);
    const undo = await refuseRows(t.db, 'rating_events', 'comment', '%xyzzy%');
    const res = await request(t.app).post(`/r/${token}`).send({ score: 2, comment: 'Zebulon was rude about my xyzzy' });
    await undo();
    expect(res.status).toBe(500);
    expect(linesOf('unhandled error').map((e) => e.err.message)).toEqual([expect.stringContaining('refuse_rating_events_comment')]);
    expect(log.lines.join('\n')).not.toMatch(CUSTOMER_DATA);
  });
});

describe('safeError and the logger', () => {
  const VALUES = /ann@example\.com|Ann Example|refund please/;
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-logs-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A real SQLite error raised under an insert with bound values, through `db`. */
  async function failedInsert(db: knex.Knex): Promise<Error> {
    await db.schema.createTable('people', (t) => {
      t.string('email');
      t.string('name');
      t.text('note');
    });
    await db.raw(`CREATE TRIGGER refuse BEFORE INSERT ON people BEGIN SELECT RAISE(ABORT, 'people refused'); END`);
    const err = await db('people')
      .insert({ email: 'ann@example.com', name: 'Ann Example', note: 'refund please\n    at fake (/frame.js:1:1) - fake driver' })
      .then(() => undefined, (e: Error) => e);
    await db.destroy();
    if (!err) throw new Error('the insert was expected to fail');
    return err;
  }

  it("when knex's message quotes the values, then safeError keeps only the driver's code, class and short message", async () => {
    const err = await failedInsert(knex({ client: 'sqlite3', connection: { filename: path.join(dir, 'a.sqlite') }, useNullAsDefault: true }));
    expect(err.message).toMatch(VALUES); // positive control: knex's own message carries them
    const safe = safeError(err);
    expect(safe).toMatchObject({ type: 'Error', code: 'SQLITE_CONSTRAINT', message: 'SQLITE_CONSTRAINT: people refused' });
    expect(JSON.stringify(safe)).not.toMatch(VALUES);
    expect(JSON.stringify(safe)).not.toContain('fake');
  });

  it('when the database is opened by createDb, then driver errors carry no bound values at all', async () => {
    const err = await failedInsert(createDb(path.join(dir, 'b.sqlite')));
    expect(err.message).toContain('people refused');
    expect(err.message).not.toMatch(VALUES);
  });

  it('when a PostgreSQL error has a detail quoting the row, then only its server message is kept', () => {
    const err = Object.assign(new Error('insert into "surveys" ("email") values ($1) - duplicate key value violates unique constraint "surveys_email"'), {
      code: '23505',
      detail: 'Key (email)=(ann@example.com) already exists.',
    });
    expect(safeError(err)).toMatchObject({ code: '23505', message: 'duplicate key value violates unique constraint "surveys_email"' });
    expect(JSON.stringify(safeError(err))).not.toContain('ann@example.com');
  });

  it('when an Error or customer fields are logged under any key, then the line carries none of their values', () => {
    const { logger, lines } = capturedLogger();
    const leaky = Object.assign(new Error("insert into people values ('Ann Example') - driver said no"), { detail: 'ann@example.com' });
    logger.error({ err: leaky }, 'raw error object');
    logger.info(
      {
        email: 'ann@example.com',
        customerEmail: 'ann@example.com',
        name: 'Ann Example',
        customerName: 'Ann Example',
        subject: 'refund please',
        comment: 'refund please',
        token: 'tok-0123456789abcdef',
        secret: 'sec-0123456789abcdef',
        to: '"Ann Example" <ann@example.com>',
        customer: { email: 'ann@example.com', name: 'Ann Example' },
        survey: { customer_email: 'ann@example.com', customer_name: 'Ann Example', subject: 'refund please', comment: 'refund please', unsubscribeToken: 'tok-0123456789abcdef' },
        req: { headers: { authorization: 'Bearer sec-0123456789abcdef', cookie: 'sid=sec-0123456789abcdef' } },
      },
      'fields',
    );
    expect(lines).toHaveLength(2);
    const all = lines.join('\n');
    expect(all).not.toMatch(VALUES);
    expect(all).not.toMatch(/tok-0123|sec-0123/);
    expect(JSON.parse(lines[0]).err).toMatchObject({ type: 'Error', message: 'driver said no' });
  });
});
