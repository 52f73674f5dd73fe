import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { DAY_MS, linkEvents, ratingEvents, surveyRow, surveyWithToken } from './fixtures';
import { rebuildStats } from '../../src/surveys/counters/rebuild';

describe('recording a rating with POST /r/:token', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp({ RATING_CHANGE_DAYS: '3' }, clock);
  });
  afterEach(() => t.close());

  const postForm = (token: string, body: string) => request(t.app).post(`/r/${token}`).type('form').send(body);
  const postJson = (token: string, body: unknown) => request(t.app).post(`/r/${token}`).send(body as object);

  /** The survey's stored answer and its history, for "nothing changed" checks. */
  const snapshot = async (surveyId: string) => {
    const row = await surveyRow(t, surveyId);
    return { score: row.score, comment: row.comment, firstRatedAt: row.first_rated_at, events: await ratingEvents(t, surveyId) };
  };

  it('when the form is posted, then it answers 303 to the survey page, which then thanks and offers a comment form', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await postForm(token, 'score=4');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/r/${token}`);

    const row = await surveyRow(t, surveyId);
    expect([row.score, row.comment, Number(row.first_rated_at), Number(row.rated_at)]).toEqual([4, null, clock.now().getTime(), clock.now().getTime()]);
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 4, comment: null }]);

    const page = await request(t.app).get(res.headers.location);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Thank you! Your rating has been recorded.');
    expect(page.text).toContain('<textarea id="comment" name="comment"');
  });

  it('when JSON is posted, then it answers 200 with the recorded score and comment', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await postJson(token, { score: 3 });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ status: 'recorded', score: 3, comment: null });
    expect((await surveyRow(t, surveyId)).score).toBe(3);
  });

  it('when 2 and then 5 are posted, then 5 is current and both are kept as rated then changed', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const firstAt = clock.now().getTime();
    await postJson(token, { score: 2 }).expect(200);
    clock.advance(60_000);
    await postForm(token, 'score=5').expect(303);

    const row = await surveyRow(t, surveyId);
    expect(row.score).toBe(5);
    expect(Number(row.first_rated_at)).toBe(firstAt);
    expect(Number(row.rated_at)).toBe(firstAt + 60_000);
    expect(await ratingEvents(t, surveyId)).toEqual([
      { kind: 'rated', score: 2, comment: null },
      { kind: 'changed', score: 5, comment: null },
    ]);
  });

  it('when the same score is posted twice, then no second event is kept', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postJson(token, { score: 4 }).expect(200);
    const again = await postJson(token, { score: 4 });
    expect(again.body).toEqual({ status: 'recorded', score: 4, comment: null });
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 4, comment: null }]);
  });

  it('when a comment is sent from the thanks page form, then it is stored trimmed as a commented event and shown back', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postForm(token, 'score=4').expect(303);
    await postForm(token, `score=4&comment=${encodeURIComponent('  Quick and kind.\r\nThanks!  ')}`).expect(303);

    expect((await surveyRow(t, surveyId)).comment).toBe('Quick and kind.\r\nThanks!');
    expect(await ratingEvents(t, surveyId)).toEqual([
      { kind: 'rated', score: 4, comment: null },
      { kind: 'commented', score: null, comment: 'Quick and kind.\r\nThanks!' },
    ]);
    const page = await request(t.app).get(`/r/${token}`);
    expect(page.text).toContain('>Quick and kind.\r\nThanks!</textarea>');
    expect(page.text).toContain('Update comment');
  });

  it('when only a comment is posted as JSON after rating, then the score stays and the comment is recorded', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postJson(token, { score: 2 }).expect(200);
    const res = await postJson(token, { comment: 'Took three emails.' });
    expect(res.body).toEqual({ status: 'recorded', score: 2, comment: 'Took three emails.' });
    expect((await ratingEvents(t, surveyId)).map((e) => e.kind)).toEqual(['rated', 'commented']);
  });

  it('when a comment of exactly 2000 characters is posted, then it is stored', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postJson(token, { score: 3, comment: 'x'.repeat(2000) }).expect(200);
    expect((await surveyRow(t, surveyId)).comment).toHaveLength(2000);
  });

  it('when a comment is longer than 2000 characters, then it answers 400 and nothing changes', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postJson(token, { score: 3, comment: 'Fine.' }).expect(200);
    const before = await snapshot(surveyId);

    const json = await postJson(token, { score: 1, comment: 'x'.repeat(2001) });
    expect(json.status).toBe(400);
    expect(json.body).toMatchObject({
      error: 'invalid_rating',
      message: 'Comments can be at most 2000 characters.',
      details: [{ path: 'comment', message: 'must be at most 2000 characters' }],
    });
    const form = await postForm(token, `score=1&comment=${'y'.repeat(2001)}`);
    expect(form.status).toBe(400);
    expect(form.headers['content-type']).toMatch(/^text\/html/);
    expect(await snapshot(surveyId)).toEqual(before);
  });

  it('when a comment carries an unpaired surrogate, then it answers 400 naming comment and nothing changes (storage would keep U+FFFD instead)', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await postJson(token, { score: 3, comment: 'Fine 😀' }).expect(200);
    const before = await snapshot(surveyId);
    const res = await postJson(token, { score: 2, comment: 'Slow \ud83d' });
    expect([res.status, res.body.error, res.body.details?.map((d: { path: string }) => d.path)]).toEqual([400, 'invalid_rating', ['comment']]);
    expect(await snapshot(surveyId)).toEqual(before);
    expect(before.comment).toBe('Fine 😀');
  });

  it('when a comment arrives before any score, then it answers 400 and nothing is stored', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await postJson(token, { comment: 'Hello?' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'score_required' });
    expect(await snapshot(surveyId)).toEqual({ score: null, comment: null, firstRatedAt: null, events: [] });
  });

  it.each([[0], [6], ['abc'], [4.5], [-1], [''], [null], [[3]]])('when the score is %p, then it answers 400 and nothing is stored', async (score) => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await postJson(token, { score });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_rating' });
    expect(await snapshot(surveyId)).toEqual({ score: null, comment: null, firstRatedAt: null, events: [] });
  });

  it('when the form carries score 0, 6, abc or nothing, then it answers a 400 page and nothing is stored', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    for (const body of ['score=0', 'score=6', 'score=abc', 'score=', '', 'score=3&score=4']) {
      const res = await postForm(token, body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    }
    expect(await snapshot(surveyId)).toEqual({ score: null, comment: null, firstRatedAt: null, events: [] });
  });

  describe('change window (RATING_CHANGE_DAYS=3, counted from the first rating)', () => {
    it('when 2 days after the first rating the score changes, then it is accepted', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await postJson(token, { score: 2 }).expect(200);
      clock.advance(2 * DAY_MS);
      await postJson(token, { score: 4 }).expect(200);
      expect((await surveyRow(t, surveyId)).score).toBe(4);
    });

    it('when the window has passed, then a different score answers 409, the rating stays and the page offers no change', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await postJson(token, { score: 2, comment: '<b>slow</b>' }).expect(200);
      clock.advance(2 * DAY_MS);
      await postJson(token, { score: 4 }).expect(200);
      clock.advance(DAY_MS + 60_000);
      const before = await snapshot(surveyId);

      const json = await postJson(token, { score: 5 });
      expect([json.status, json.body]).toEqual([409, { error: 'rating_locked', message: 'This rating can no longer be changed.' }]);
      const form = await postForm(token, 'score=1');
      expect(form.status).toBe(409);
      expect(form.text).toContain('This rating can no longer be changed.');
      expect((await postJson(token, { score: 4, comment: 'late words' })).status).toBe(409);
      expect(await snapshot(surveyId)).toEqual(before);
      expect(before.score).toBe(4);

      const page = await request(t.app).get(`/r/${token}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<strong>4 – Satisfied</strong>');
      expect(page.text).toContain('Your comment: &lt;b&gt;slow&lt;/b&gt;');
      expect(page.text).not.toContain('<form');
      expect(page.text).not.toContain('<textarea');
      expect(page.text).not.toContain('Change your rating');
    });

    it('when the window has passed, then a rating link shows the final answer and no page that would post', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await postJson(token, { score: 4 }).expect(200);
      clock.advance(3 * DAY_MS + 60_000);
      const page = await request(t.app).get(`/r/${token}/1`).expect(200);
      expect(page.text).toContain('4 – Satisfied');
      expect(page.text).not.toContain('<script');
      expect((await surveyRow(t, surveyId)).score).toBe(4);
    });

    it('when a rating link is fetched with HEAD, then it answers but records no view', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await request(t.app).head(`/r/${token}/2`).expect(200);
      expect(await linkEvents(t, surveyId)).toEqual([]);
    });

    it('when the window has passed and the same score is posted again, then it is answered as recorded without a new event', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await postJson(token, { score: 3 }).expect(200);
      clock.advance(10 * DAY_MS);
      const res = await postJson(token, { score: 3 });
      expect(res.body).toEqual({ status: 'recorded', score: 3, comment: null });
      expect(await ratingEvents(t, surveyId)).toHaveLength(1);
    });
  });

  describe('same-origin only', () => {
    const origin = new URL(PUBLIC_URL).origin;

    it.each([
      ['Origin', 'https://evil.example'],
      ['Origin', 'http://csat.example.test'],
      ['Origin', `${origin}.evil.example`],
      ['Sec-Fetch-Site', 'cross-site'],
      ['Sec-Fetch-Site', 'same-site'],
    ])('when %s is %s, then the POST answers 403 and nothing is stored', async (header, value) => {
      const { surveyId, token } = await surveyWithToken(t);
      const form = await request(t.app).post(`/r/${token}`).set(header, value).type('form').send('score=1');
      expect(form.status).toBe(403);
      expect(form.headers['content-type']).toMatch(/^text\/html/);
      const json = await request(t.app).post(`/r/${token}`).set(header, value).send({ score: 1 });
      expect([json.status, json.body.error]).toEqual([403, 'cross_origin']);
      expect(await snapshot(surveyId)).toEqual({ score: null, comment: null, firstRatedAt: null, events: [] });
    });

    it('when the Origin is a cross-site one but Sec-Fetch-Site claims same-origin, then it is still refused', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      const res = await request(t.app).post(`/r/${token}`).set('Origin', 'https://evil.example').set('Sec-Fetch-Site', 'same-origin').send({ score: 1 });
      expect(res.status).toBe(403);
      expect((await surveyRow(t, surveyId)).score).toBeNull();
    });

    it('when the Origin equals PUBLIC_URL\'s origin and Sec-Fetch-Site is same-origin, then the rating is recorded', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await request(t.app).post(`/r/${token}`).set('Origin', origin).set('Sec-Fetch-Site', 'same-origin').type('form').send('score=5').expect(303);
      await request(t.app).post(`/r/${token}`).set('Origin', origin).send({ score: 4 }).expect(200);
      expect((await surveyRow(t, surveyId)).score).toBe(4);
    });
    it('when a browser sends Origin: null (no-referrer page) with Sec-Fetch-Site same-origin, then the form POST is recorded', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await request(t.app).post(`/r/${token}`).set('Origin', 'null').set('Sec-Fetch-Site', 'same-origin').type('form').send('score=2').expect(303);
      expect((await surveyRow(t, surveyId)).score).toBe(2);
    });

    it('when Origin is null and Sec-Fetch-Site is absent or cross-site, then the POST is refused', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      await request(t.app).post(`/r/${token}`).set('Origin', 'null').type('form').send('score=2').expect(403);
      await request(t.app).post(`/r/${token}`).set('Origin', 'null').set('Sec-Fetch-Site', 'cross-site').type('form').send('score=2').expect(403);
      expect((await surveyRow(t, surveyId)).score).toBeNull();
    });
  });

  describe('concurrency', () => {
    let server: Server;
    beforeEach(async () => {
      server = t.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
    });
    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('when 10 different scores are posted at once, then exactly one rated event exists and the current score is the last event\'s', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const scores = [1, 2, 3, 4, 5, 5, 4, 3, 2, 1];
      const results = await Promise.all(scores.map((score) => request(url).post(`/r/${token}`).send({ score })));
      expect(results.map((r) => r.status)).toEqual(scores.map(() => 200));

      const events = await ratingEvents(t, surveyId);
      expect(events.filter((e) => e.kind === 'rated')).toHaveLength(1);
      expect(events[0].kind).toBe('rated');
      expect(events.slice(1).every((e) => e.kind === 'changed')).toBe(true);
      expect((await surveyRow(t, surveyId)).score).toBe(events[events.length - 1].score);
      // The answers shared transactions (group commit); the counters are what a recompute gives.
      const nonZero = (r: Record<string, unknown>) => Object.entries(r).some(([k, v]) => k !== 'period' && typeof v === 'number' && v !== 0);
      const counters = async () => (await t.db('agent_rollup').orderBy(['period', 'agent_id', 'team']).select('*')).filter(nonZero);
      const kept = await counters();
      await rebuildStats(t.db, t.config.reportTz);
      expect(await counters()).toEqual(kept);
    });
  });
});
