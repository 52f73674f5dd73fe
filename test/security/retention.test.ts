/**
 * Issue 16: RETENTION_DAYS erased old surveys' identity and comments, but the .eml files in MAIL_DIR
 * (address, name, subject, live links), the rating-link events and the unsubscribe links stayed
 * forever. Now a retention pass ages them out too; opt-outs (keyed hashes) stay, however old.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { simpleParser } from 'mailparser';
import { UNSUBSCRIBE_MIN_DAYS } from '../../src/privacy/retention';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';

const DAY_MS = 86_400_000;

describe('RETENTION_DAYS', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  afterEach(() => t.close());

  async function boot(days: number) {
    clock = manualClock(new Date());
    t = await bootApp({ RETENTION_DAYS: String(days) }, clock);
  }

  /**
   * A ticket closed now on the test's clock, its email written to MAIL_DIR (dated now on that
   * clock, as the worker would have written it then), and a rating link opened.
   */
  async function mailedSurvey(email: string) {
    const res = await t.postWebhook(ticketPayload({ customer: { email, name: 'Someone' }, closed_at: clock.now().toISOString() }));
    expect(res.status).toBe(202);
    await t.services.worker.drain();
    const file = path.join(t.config.mailDir, fs.readdirSync(t.config.mailDir).find((n) => n.includes(res.body.survey_id))!);
    fs.utimesSync(file, clock.now(), clock.now());
    const text = String((await simpleParser(fs.readFileSync(file))).text);
    const token = (kind: string) => text.match(new RegExp(`/${kind}/([A-Za-z0-9_-]{43})`))![1];
    await request(t.app).get(`/r/${token('r')}/4`).expect(200);
    return { surveyId: res.body.survey_id as string, file, unsubscribe: `/u/${token('u')}` };
  }

  const linkEventsOf = (surveyId: string) => t.db('link_events').where({ survey_id: surveyId }).pluck('kind');
  const unsubscribeLinksOf = (surveyId: string) => t.db('unsubscribe_tokens').where({ survey_id: surveyId }).pluck('token_hash');

  it('when a pass runs, then .eml files, link events and unsubscribe links older than RETENTION_DAYS go, newer ones and every opt-out stay', async () => {
    await boot(90);
    const old = await mailedSurvey('old@example.com');
    await request(t.app).post(old.unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
    clock.advance(91 * DAY_MS);
    const recent = await mailedSurvey('recent@example.com');
    // Positive control: all of it is there before the pass.
    expect([fs.existsSync(old.file), (await linkEventsOf(old.surveyId)).length, (await unsubscribeLinksOf(old.surveyId)).length]).toEqual([true, 1, 1]);

    const retained = await t.services.privacy.retain();

    expect(retained).toMatchObject({ surveys: 1, link_events: 1, unsubscribe_tokens: 1, mail_files: 1 });
    expect(fs.existsSync(old.file)).toBe(false);
    expect(await linkEventsOf(old.surveyId)).toEqual([]);
    expect(await unsubscribeLinksOf(old.surveyId)).toEqual([]);
    await request(t.app).get(old.unsubscribe).expect(404);
    expect(fs.existsSync(recent.file)).toBe(true);
    expect(await linkEventsOf(recent.surveyId)).toEqual(['view']);
    expect((await unsubscribeLinksOf(recent.surveyId)).length).toBe(1);
    // The opt-out outlives everything else: the customer is still not surveyed.
    expect(await t.count('opt_outs')).toBe(1);
    expect((await t.postWebhook(ticketPayload({ customer: { email: 'old@example.com' } }))).body).toMatchObject({ status: 'suppressed', reason: 'opted_out' });
  });

  it(`when RETENTION_DAYS is shorter than ${UNSUBSCRIBE_MIN_DAYS} days, then unsubscribe links still work that long, and go after it`, async () => {
    await boot(7);
    const survey = await mailedSurvey('ann@example.com');
    clock.advance(8 * DAY_MS);
    expect(await t.services.privacy.retain()).toMatchObject({ link_events: 1, mail_files: 1, unsubscribe_tokens: 0 });
    await request(t.app).get(survey.unsubscribe).expect(200);

    clock.advance((UNSUBSCRIBE_MIN_DAYS - 8 + 1) * DAY_MS);
    expect(await t.services.privacy.retain()).toMatchObject({ unsubscribe_tokens: 1 });
    await request(t.app).get(survey.unsubscribe).expect(404);
  });
});
