import { rebuildStats } from '../../src/surveys/counters/rebuild';
import request from 'supertest';
import { eraseClosedBefore } from '../../src/privacy/erase';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';

const EMAIL = 'Ann.Secret@Example.com';
const COMMENT = 'my order number is 4711-secret';

/** Every text value in every table, to look for leftovers. */
async function everyValue(t: TestApp): Promise<string> {
  const tables = await tableNames(t.db);
  const rows = await Promise.all(tables.map((name: string) => t.db(name).select('*')));
  return JSON.stringify(rows);
}

describe('erasing a customer', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  const admin = () => `Bearer ${t.config.adminToken}`;
  const reports = () => `Bearer ${t.config.reportsToken}`;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    // Rating webhooks to a receiver that never answers: their queued bodies hold comments too.
    t = await bootApp({ RATING_WEBHOOK_URL: 'http://127.0.0.1:9/hook', RATING_WEBHOOK_SECRET: 'hook-secret-0123456789' }, clock);
  });
  afterEach(() => t.close());

  async function ratedSurvey(email: string, score: number, comment?: string) {
    const secret = email.toLowerCase() === EMAIL.toLowerCase();
    const res = await t.postWebhook(
      ticketPayload({ customer: { email, name: secret ? 'Ann Secret' : 'Otto' }, subject: secret ? 'About 4711-secret' : 'Other matter' }),
    );
    await t.services.worker.drain();
    const token = await t.services.surveys.issueToken(res.body.survey_id);
    await t.services.ratings.recordRating(token, { score });
    if (comment) await t.services.ratings.recordRating(token, { comment });
    return res.body.survey_id as string;
  }

  it('when a customer is erased, then no table holds their email, name, subject or comment, and report counts are unchanged', async () => {
    await ratedSurvey(EMAIL, 5, COMMENT);
    await ratedSurvey(EMAIL.toLowerCase(), 2);
    await ratedSurvey('other@example.com', 4, 'fine');
    await t.services.surveys.issueUnsubscribeToken(EMAIL);
    await t.db('opt_outs').insert({ email_hash: t.services.addressHash(EMAIL), created_at: clock.now() });
    const before = (await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', reports())).body;
    expect(await everyValue(t)).toMatch(/ann\.secret@example\.com|4711-secret/i);

    const res = await request(t.app).delete(`/api/customers/${encodeURIComponent(EMAIL)}`).set('Authorization', admin());
    expect(res.status).toBe(200);
    // two emails' links and one more, and their two .eml files; the opt-out stays, as a keyed hash (test/security/erasure.test.ts)
    expect(res.body.erased).toEqual({ surveys: 2, comments: 1, rating_events: 1, unsubscribe_tokens: 3, mail_files: 2, opt_out_kept: true });

    const all = await everyValue(t);
    expect(all).not.toMatch(/ann\.secret|Ann Secret|4711-secret/i);
    expect(all).toContain('fine'); // other customers are untouched
    const after = (await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', reports())).body;
    expect({ ...after, generated_at: null }).toEqual({ ...before, generated_at: null });
  });

  it('when the credential is missing or the email malformed, then 401 or 400 and nothing is erased', async () => {
    await ratedSurvey(EMAIL, 5, COMMENT);
    expect((await request(t.app).delete(`/api/customers/${EMAIL}`)).status).toBe(401);
    expect((await request(t.app).delete(`/api/customers/${EMAIL}`).set('Authorization', reports())).status).toBe(401);
    expect((await request(t.app).delete('/api/customers/not-an-email').set('Authorization', admin())).status).toBe(400);
    expect(await everyValue(t)).toContain(COMMENT);
  });

  it('when the customer has a survey still waiting to be sent, then it is cancelled, its links die, and counters equal a rebuild', async () => {
    const sent = await ratedSurvey(EMAIL, 4);
    const waiting = await t.postWebhook(ticketPayload({ customer: { email: EMAIL } }));
    await request(t.app).delete(`/api/customers/${encodeURIComponent(EMAIL)}`).set('Authorization', admin()).expect(200);
    expect((await t.db('surveys').where({ id: waiting.body.survey_id }).first()).status).toBe('cancelled');
    expect(await t.db('outbox').where({ status: 'pending' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await t.db('survey_tokens').where({ survey_id: sent }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }]);
    const kept = await t.db('agent_day_stats').select('*');
    await rebuildStats(t.db, 'UTC');
    expect(await t.db('agent_day_stats').select('*')).toEqual(kept);
  });

  it('when an unknown customer is erased, then it answers with zeros', async () => {
    const res = await request(t.app).delete('/api/customers/nobody@example.com').set('Authorization', admin());
    expect(res.body.erased).toEqual({ surveys: 0, comments: 0, rating_events: 0, unsubscribe_tokens: 0, mail_files: 0, opt_out_kept: false });
  });

  it('when retention erases surveys closed before the cutoff, then newer ones keep their data and counts stay', async () => {
    const old = await t.postWebhook(ticketPayload({ closed_at: '2026-01-10T10:00:00Z', customer: { email: 'old@example.com' } }));
    await t.postWebhook(ticketPayload({ closed_at: '2026-11-19T10:00:00Z', customer: { email: 'new@example.com' } }));
    const erased = await eraseClosedBefore(t.db, t.services.ledger, new Date('2026-06-01T00:00:00Z'), clock.now());
    expect(erased.surveys).toBe(1);
    expect((await t.db('surveys').where({ id: old.body.survey_id }).first()).customer_email).toBe('erased@erased.invalid');
    expect(await t.db('surveys').where({ customer_email: 'new@example.com' }).first()).toBeDefined();
    expect((await eraseClosedBefore(t.db, t.services.ledger, new Date('2026-06-01T00:00:00Z'), clock.now())).surveys).toBe(0);
  });
});
