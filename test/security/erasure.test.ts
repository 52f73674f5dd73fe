/**
 * Issue 16: unsubscribe, then DELETE /api/customers/:email, then a new ticket for the same address
 * answered 202 scheduled: the opt-out was erased with the rest. And the .eml files in MAIL_DIR
 * (written when SMTP_URL is unset) kept the customer's address, name, subject and live rating and
 * unsubscribe links after erasure. Now an opt-out survives as a keyed hash of the address, and
 * erasure leaves the address in no table and no file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { simpleParser } from 'mailparser';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';

const VICTIM = 'Ann.Secret@Example.com';
const ADDRESS = /ann\.secret@example\.com/i;

/** Every value in every table, as one text. */
async function everyValue(t: TestApp): Promise<string> {
  const tables = await tableNames(t.db);
  return JSON.stringify(await Promise.all(tables.map((name) => t.db(name).select('*'))));
}

/** Every file under `dir` (names and contents), as one text. */
function everyFile(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => fs.statSync(file).isFile())
    .map((file) => `${file}\n${fs.readFileSync(file, 'utf8')}`)
    .join('\n');
}

describe('erasing a customer who unsubscribed', () => {
  let t: TestApp;
  const admin = () => `Bearer ${t.config.adminToken}`;
  const erase = (email: string) => request(t.app).delete(`/api/customers/${encodeURIComponent(email)}`).set('Authorization', admin());

  beforeEach(async () => {
    // No SMTP_URL: every email becomes an .eml file in MAIL_DIR, as with `npm start` unconfigured.
    t = await bootApp({ RATING_WEBHOOK_URL: 'http://127.0.0.1:9/hook', RATING_WEBHOOK_SECRET: 'hook-secret-0123456789' }, manualClock(new Date('2026-11-20T10:05:00Z')));
  });
  afterEach(() => t.close());

  /** Closes a ticket for `email`, lets the worker write its email, and answers the survey id and the parsed .eml. */
  async function surveyEmail(email: string, name = 'Ann Secret') {
    const res = await t.postWebhook(ticketPayload({ customer: { email, name }, subject: 'About order 4711' }));
    expect(res.status).toBe(202);
    await t.services.worker.drain();
    const file = fs.readdirSync(t.config.mailDir).find((n) => n.includes(res.body.survey_id) && n.endsWith('.eml'));
    expect(file).toBeDefined();
    const mail = await simpleParser(fs.readFileSync(path.join(t.config.mailDir, file!)));
    const token = (kind: 'r' | 'u') => String(mail.text).match(new RegExp(`https://csat\\.example\\.test/${kind}/([A-Za-z0-9_-]{43})`))![1];
    return { surveyId: res.body.survey_id as string, ratingToken: token('r'), unsubscribe: `/u/${token('u')}` };
  }

  it('when an unsubscribed customer is erased, then their next ticket is still suppressed as opted_out; an erasure alone opts no one out', async () => {
    const { unsubscribe } = await surveyEmail(VICTIM);
    await request(t.app).post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const before = await t.postWebhook(ticketPayload({ customer: { email: VICTIM } }));
    expect(before.body).toMatchObject({ status: 'suppressed', reason: 'opted_out' });

    const erased = await erase(VICTIM).expect(200);
    const after = await t.postWebhook(ticketPayload({ customer: { email: VICTIM.toUpperCase() } }));
    expect([after.status, after.body]).toEqual([200, { survey_id: expect.any(String), status: 'suppressed', reason: 'opted_out' }]);
    expect(erased.body.erased).toMatchObject({ surveys: 2, opt_out_kept: true });

    // Positive control: a customer who never unsubscribed is surveyed again after erasure.
    await surveyEmail('otto@example.com', 'Otto');
    expect((await erase('otto@example.com').expect(200)).body.erased).toMatchObject({ surveys: 1, opt_out_kept: false });
    expect((await t.postWebhook(ticketPayload({ customer: { email: 'otto@example.com' } }))).status).toBe(202);
  });

  it('when a customer is erased, then no table and no file under MAIL_DIR holds their address, and other customers keep theirs', async () => {
    const first = await surveyEmail(VICTIM);
    await surveyEmail(VICTIM.toLowerCase());
    await surveyEmail('otto@example.com', 'Otto');
    await request(t.app).get(`/r/${first.ratingToken}/2`).expect(200); // a link event
    await t.services.ratings.recordRating(first.ratingToken, { score: 2, comment: 'call me at ann.secret@example.com' });
    await request(t.app).post(first.unsubscribe).type('form').send('action=unsubscribe').expect(303);
    // Positive controls: the address is stored and in the files before erasure.
    expect(await everyValue(t)).toMatch(ADDRESS);
    expect(everyFile(t.config.mailDir)).toMatch(ADDRESS);

    const erased = await erase(VICTIM).expect(200);

    const values = await everyValue(t);
    const files = everyFile(t.config.mailDir);
    expect(values).not.toMatch(ADDRESS);
    expect(values).not.toMatch(/Ann Secret/);
    expect(files).not.toMatch(ADDRESS);
    expect(files).not.toMatch(/Ann Secret/);
    expect(values).toContain('otto@example.com');
    expect(files).toContain('otto@example.com');
    // The links of the erased emails are dead too.
    await request(t.app).get(`/r/${first.ratingToken}/2`).expect(404);
    await request(t.app).get(first.unsubscribe).expect(404);
    expect(erased.body.erased).toMatchObject({ surveys: 2, mail_files: 2, opt_out_kept: true });
  });

  it('when a customer unsubscribes, then what is stored is a keyed hash of the address, not one anybody can compute from a guessed address', async () => {
    const { unsubscribe } = await surveyEmail(VICTIM);
    await request(t.app).post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
    for (const table of ['opt_outs', 'unsubscribe_tokens']) expect(JSON.stringify(await t.db(table).select('*'))).not.toMatch(ADDRESS);
    const guess = VICTIM.toLowerCase();
    const plain = ['sha256', 'sha1', 'md5'].map((algorithm) => crypto.createHash(algorithm).update(guess).digest('hex'));
    const values = await everyValue(t);
    for (const digest of plain) expect(values).not.toContain(digest);
    const keyed = crypto.createHmac('sha256', t.config.privacyKey).update(guess).digest('hex');
    expect(await t.db('opt_outs').pluck('email_hash')).toEqual([keyed]);
    expect(await t.db('unsubscribe_tokens').pluck('email_hash')).toEqual([keyed]);
  });
});
