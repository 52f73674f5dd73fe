/**
 * Erasure racing a rating on PostgreSQL, where several instances write at once (a black-box attack
 * with two instances left comments behind: 5 to 16 rows out of 40 races). Each case holds a lock in
 * a transaction of its own to put the two in one order for certain, then waits for the service's
 * statement to be blocked on it (pg_stat_activity), never for a time.
 */
import type { Knex } from 'knex';
import request from 'supertest';
import { bootApp, type TestApp } from '../helpers/boot';
import { onPostgres, tableNames } from '../helpers/database';
import { openDatabase } from '../faults/service-process';
import { waitFor } from '../helpers/wait';
import { surveyWithToken } from '../ratings/fixtures';
import { ERASED_EMAIL } from '../../src/surveys/state';

const describePg = onPostgres ? describe : describe.skip;
const EMAIL = 'ann.secret@example.com';
const SECRET = 'SECRET-COMMENT-4711';

describePg('erasing a customer while a rating of theirs is written (PostgreSQL)', () => {
  let t: TestApp;
  let side: Knex;
  beforeEach(async () => {
    t = await bootApp({ RATING_WEBHOOK_URL: 'http://127.0.0.1:9/hook', RATING_WEBHOOK_SECRET: 'hook-secret-0123456789' });
    side = openDatabase({ DATABASE_SCHEMA: (t.config.database as { schema: string }).schema }); // two connections: one holds the lock, one watches
  });
  afterEach(async () => {
    await side.destroy();
    await t.close();
  });

  /** Whether one of the service's statements waits for a lock (its connections are named closeloop). */
  const serviceBlocked = async () =>
    Number((await side.raw("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'closeloop' AND wait_event_type = 'Lock' AND datname = current_database()")).rows[0].n) > 0;

  it('when the erasure commits while the rating waits for the survey, then the rating answers 404 and stores nothing', async () => {
    const { surveyId, token } = await surveyWithToken(t, { customer: { email: EMAIL } });
    const held = await side.transaction();
    await held.raw('SELECT id FROM surveys WHERE id = ? FOR UPDATE', [surveyId]);
    const rating = request(t.app).post(`/r/${token}`).send({ score: 1, comment: SECRET }).then((res) => res);
    await waitFor(serviceBlocked);
    // What a committed erasure left: no token, the survey's identity blanked.
    await held('survey_tokens').where({ survey_id: surveyId }).delete();
    await held('surveys').where({ id: surveyId }).update({ customer_email: ERASED_EMAIL, customer_name: null });
    await held.commit();
    const res = await rating;
    expect(res.status).toBe(404);
    expect(await t.db('surveys').where({ id: surveyId }).first('score', 'comment')).toEqual({ score: null, comment: null });
    expect(await t.count('rating_events')).toBe(0);
    expect(await t.count('hook_outbox')).toBe(0);
  });

  it('when the rating holds the survey as the erasure begins, then the erasure waits for it and erases what it wrote', async () => {
    const { surveyId } = await surveyWithToken(t, { customer: { email: EMAIL } });
    expect(await t.services.worker.drain()).toBe(1); // sent: the erasure has no email of theirs to cancel first
    const held = await side.transaction();
    // What a rating writes while it holds its survey (ratings/repository.ts recordRatings).
    await held.raw('SELECT id FROM surveys WHERE id = ? FOR UPDATE', [surveyId]);
    await held('rating_events').insert({ survey_id: surveyId, kind: 'first', score: 1, comment: SECRET, created_at: new Date() });
    await held('surveys').where({ id: surveyId }).update({ score: 1, comment: SECRET });
    const erasure = request(t.app).delete(`/api/customers/${EMAIL}`).set('Authorization', `Bearer ${t.config.adminToken}`).then((res) => res);
    await waitFor(serviceBlocked);
    await held.commit();
    expect((await erasure).status).toBe(200);
    const everything = JSON.stringify(await Promise.all((await tableNames(t.db)).map((name) => t.db(name).select('*'))));
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(EMAIL);
  });
});
