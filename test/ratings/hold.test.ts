/**
 * Ratings a page posts by itself wait RATING_HOLD_SECONDS for the scanner rules (README "Rating
 * links and mail scanners"). The clock is the test's: the hold loop is driven by decidePending().
 */
import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { linkEvents, ratingEvents, surveyRow, surveyWithToken } from './fixtures';

const HOLD_MS = 60_000;
const HOOK_URL = 'https://hooks.example.test/csat';

describe('a rating the page posts by itself (held for the scanner rules)', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp({ RATING_WEBHOOK_URL: HOOK_URL, RATING_WEBHOOK_SECRET: 'rating-hook-secret-0123456789' }, clock);
  });
  afterEach(() => t.close());

  const open = (token: string, score: number | string) => request(t.app).get(`/r/${token}/${score}`);
  /** What the rating page's script sends once visible. */
  const pagePost = (token: string, score: number, page: Record<string, unknown> = { visible_ms: 120, interacted: false }) =>
    request(t.app).post(`/r/${token}`).set('Origin', PUBLIC_URL).set('Accept', 'application/json').send({ score, page });
  /** A person's own submit: the Confirm button, the comment form or the change buttons. */
  const formPost = (token: string, fields: Record<string, string>) =>
    request(t.app).post(`/r/${token}`).set('Origin', PUBLIC_URL).type('form').send(fields);
  const attempts = (surveyId: string) => t.db('rating_attempts').where({ survey_id: surveyId }).orderBy('id').select('source', 'score', 'status', 'reason');
  const hooks = (surveyId: string) => t.db('hook_outbox').where({ survey_id: surveyId }).select('body');
  const decide = () => t.services.ratings.decidePending();
  const agentReport = async () => {
    await t.services.worker.drain(); // surveys count in reports once their email went out
    return (await request(t.app).get('/reports/agents?from=2026-11-20&to=2026-11-20&format=json').set('Authorization', `Bearer ${t.config.reportsToken}`)).body;
  };

  /** A person: one link opened, the page posts once visible. */
  async function personOpens(token: string, score: number) {
    await open(token, score).expect(200);
    clock.advance(400);
    await pagePost(token, score).expect(202, { status: 'pending', score });
  }

  it('when a person opens one link, then the rating waits the hold, then counts with one webhook; nothing counts before', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await personOpens(token, 4);

    expect((await surveyRow(t, surveyId)).score).toBeNull();
    // The thank-you page shows the waiting score at once.
    const thanks = await request(t.app).get(`/r/${token}`).expect(200);
    expect(thanks.text).toContain('<strong>4 – ');
    clock.advance(HOLD_MS - 1_000);
    expect(await decide()).toBe(0);
    expect(await ratingEvents(t, surveyId)).toEqual([]);
    expect(await hooks(surveyId)).toEqual([]);

    clock.advance(1_000);
    expect(await decide()).toBe(1);
    expect((await surveyRow(t, surveyId)).score).toBe(4);
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 4, comment: null }]);
    expect(await attempts(surveyId)).toEqual([{ source: 'page', score: 4, status: 'counted', reason: 'no_scanner_signal' }]);
    expect((await hooks(surveyId)).map((h) => JSON.parse(h.body).score)).toEqual([4]);
    expect(await decide()).toBe(0); // decided once
  });

  it.each([
    ['in parallel', 0],
    ['one after another, 3 s apart', 3_000],
  ])('when a scanner opens every link %s and each page posts, then no rating counts, no webhook, and the report shows scanner activity', async (_how, gapMs) => {
    const { surveyId, token } = await surveyWithToken(t);
    await request(t.app).get(`/r/${token}/check`).expect(200); // the decoy
    for (const score of [1, 2, 3, 4, 5]) {
      await open(token, score).expect(200);
      await pagePost(token, score, { visible_ms: 0, interacted: false }).expect(202);
      clock.advance(gapMs);
    }
    clock.advance(HOLD_MS);
    expect(await decide()).toBe(5);

    const survey = await surveyRow(t, surveyId);
    expect([survey.score, survey.first_rated_at]).toEqual([null, null]);
    expect(await ratingEvents(t, surveyId)).toEqual([]);
    expect(await hooks(surveyId)).toEqual([]);
    const decided = await attempts(surveyId);
    expect(decided.map((a) => a.status)).toEqual(['discarded', 'discarded', 'discarded', 'discarded', 'discarded']);
    expect(decided.every((a) => a.reason === 'scanner_decoy')).toBe(true);
    const report = await agentReport();
    expect(report.agents[0]).toMatchObject({ agent_id: 'a-7', responses: 0, scanner_discarded: 1 });
    expect(report.overall).toMatchObject({ responses: 0, scanner_discarded: 1 });
  });

  it('when the scanner skips the decoy but opens three or more scores around a post, then it is discarded as a burst', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    for (const score of [5, 1, 3]) {
      await open(token, score).expect(200);
      await pagePost(token, score).expect(202);
      clock.advance(10_000);
    }
    clock.advance(HOLD_MS);
    await decide();
    expect((await attempts(surveyId)).map((a) => [a.status, a.reason])).toEqual([
      ['discarded', 'scanner_burst'],
      ['discarded', 'scanner_burst'],
      ['discarded', 'scanner_burst'],
    ]);
    expect((await surveyRow(t, surveyId)).score).toBeNull();
  });

  it('when a scanner swept the email first, then the person who clicks later still counts', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    for (const score of [1, 2, 3, 4, 5]) {
      await open(token, score).expect(200);
      await pagePost(token, score).expect(202);
    }
    clock.advance(HOLD_MS);
    await decide();
    clock.advance(3_600_000); // an hour later, the customer reads the email
    await personOpens(token, 2);
    clock.advance(HOLD_MS);
    await decide();
    expect((await surveyRow(t, surveyId)).score).toBe(2);
    expect((await hooks(surveyId)).map((h) => JSON.parse(h.body).score)).toEqual([2]);
    expect((await agentReport()).agents[0]).toMatchObject({ responses: 1, scanner_discarded: 1, distribution: { '2': 1 } });
  });

  it('when a person changes their mind between two links within the hold, then only the later one counts', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await personOpens(token, 3);
    clock.advance(20_000);
    await personOpens(token, 4);
    clock.advance(HOLD_MS);
    await decide();
    expect((await surveyRow(t, surveyId)).score).toBe(4);
    expect((await attempts(surveyId)).map((a) => [a.score, a.status, a.reason])).toEqual([
      [3, 'superseded', 'later_rating'],
      [4, 'counted', 'no_scanner_signal'],
    ]);
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 4, comment: null }]);
  });

  it('when the rating counts, then a later re-scan of every link changes nothing, and the page offers no automatic post', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await personOpens(token, 5);
    clock.advance(HOLD_MS);
    await decide();
    clock.advance(86_400_000); // the gateway re-scans the next day
    for (const score of [1, 2, 3, 4, 5]) {
      const page = await open(token, score).expect(200);
      expect(page.text).not.toContain('id="rate-form"');
      expect(page.text).toContain('<strong>5 – ');
      await pagePost(token, score).expect(200, { status: 'ignored', score: 5 });
    }
    clock.advance(HOLD_MS);
    expect(await decide()).toBe(0);
    expect((await surveyRow(t, surveyId)).score).toBe(5);
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 5, comment: null }]);
    expect((await attempts(surveyId)).filter((a) => a.status === 'ignored')).toHaveLength(5);
    expect(await hooks(surveyId)).toHaveLength(1);
    // Only the customer's deliberate change does.
    await formPost(token, { score: '1' }).expect(303);
    expect((await surveyRow(t, surveyId)).score).toBe(1);
  });

  it('when the person submits the comment form while the rating waits, then it counts at once and the waiting one is settled', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await personOpens(token, 2);
    await formPost(token, { score: '2', comment: 'Slow answer.' }).expect(303);
    const survey = await surveyRow(t, surveyId);
    expect([survey.score, survey.comment]).toEqual([2, 'Slow answer.']);
    expect((await attempts(surveyId)).map((a) => [a.source, a.status, a.reason])).toEqual([
      ['page', 'superseded', 'customer_action'],
      ['form', 'counted', 'customer_action'],
    ]);
    clock.advance(HOLD_MS);
    expect(await decide()).toBe(0);
    expect(await ratingEvents(t, surveyId)).toEqual([
      { kind: 'rated', score: 2, comment: null },
      { kind: 'commented', score: null, comment: 'Slow answer.' },
    ]);
    // One rating event; the 2 also opened a follow-up, whose event follows it.
    expect((await hooks(surveyId)).map((h) => JSON.parse(h.body).event)).toEqual(['rating.created', 'followup.opened']);
  });

  it('when a link expires while its rating waits, then the rating is discarded and nothing counts', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await personOpens(token, 4);
    await t.db('survey_tokens').where({ survey_id: surveyId }).update({ expires_at: new Date(clock.now().getTime() + 1_000) });
    clock.advance(HOLD_MS);
    await decide();
    expect(await attempts(surveyId)).toEqual([{ source: 'page', score: 4, status: 'discarded', reason: 'survey_closed' }]);
    expect((await surveyRow(t, surveyId)).score).toBeNull();
  });

  it('when a lead reads the survey in the API, then each attempt shows its status, reason and signals beside the link opens', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await open(token, 1).expect(200);
    await open(token, 2).expect(200);
    await open(token, 3).expect(200);
    await pagePost(token, 3, { visible_ms: 0, interacted: false }).expect(202);
    clock.advance(HOLD_MS);
    await decide();
    const res = await request(t.app).get(`/api/surveys/${surveyId}`).set('Authorization', `Bearer ${t.config.adminToken}`).expect(200);
    expect(res.body.rating_attempts).toEqual([
      { source: 'page', score: 3, status: 'discarded', reason: 'scanner_burst', visible_ms: 0, interacted: false, at: '2026-11-20T10:05:00.000Z', decided_at: '2026-11-20T10:06:00.000Z' },
    ]);
    expect(res.body.link_events.filter((e: { kind: string }) => e.kind === 'view').map((e: { score: number }) => e.score)).toEqual([1, 2, 3]);
    expect(await linkEvents(t, surveyId)).toContainEqual({ kind: 'scanner_multi_score', score: 2 });
  });

  it('when the page sends a bad score or bad signals, then it answers 400 and stores nothing', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await pagePost(token, 7).expect(400);
    await pagePost(token, 3, { visible_ms: -5 }).expect(400);
    await pagePost(token, 3, { interacted: 'yes' }).expect(400);
    expect(await attempts(surveyId)).toEqual([]);
  });
});
