import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import { linkEvents, ratingEvents, surveyRow, surveyWithToken } from './fixtures';

describe('rating links fetched with GET (what mail scanners do)', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp({}, clock);
  });
  afterEach(() => t.close());

  const open = (path: string) => request(t.app).get(path);

  it('when all five links are fetched, then no rating is stored, each fetch is a view and the sweep is flagged', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    for (const score of [1, 2, 3, 4, 5]) {
      const res = await open(`/r/${token}/${score}`);
      expect(res.status).toBe(200);
      clock.advance(200);
    }

    const survey = await surveyRow(t, surveyId);
    expect([survey.score, survey.comment, survey.first_rated_at, survey.rated_at]).toEqual([null, null, null, null]);
    expect(await ratingEvents(t, surveyId)).toEqual([]);
    const events = await linkEvents(t, surveyId);
    expect(events.filter((e) => e.kind === 'view').map((e) => e.score)).toEqual([1, 2, 3, 4, 5]);
    expect(events.filter((e) => e.kind === 'scanner_multi_score').map((e) => e.score)).toEqual([2, 3, 4, 5]);
    expect(events).toHaveLength(9);
  });

  it('when one link is opened twice, then both are views and nothing is flagged', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    await open(`/r/${token}/4`).expect(200);
    clock.advance(1000);
    await open(`/r/${token}/4`).expect(200);
    expect(await linkEvents(t, surveyId)).toEqual([
      { kind: 'view', score: 4 },
      { kind: 'view', score: 4 },
    ]);
  });

  it('when a second score is opened within 10 s, then it is flagged; after more than 10 s, it is not', async () => {
    const quick = await surveyWithToken(t);
    await open(`/r/${quick.token}/2`).expect(200);
    clock.advance(10_000);
    await open(`/r/${quick.token}/3`).expect(200);
    expect(await linkEvents(t, quick.surveyId)).toContainEqual({ kind: 'scanner_multi_score', score: 3 });

    const slow = await surveyWithToken(t);
    await open(`/r/${slow.token}/2`).expect(200);
    clock.advance(10_001);
    await open(`/r/${slow.token}/3`).expect(200);
    expect(await linkEvents(t, slow.surveyId)).toEqual([
      { kind: 'view', score: 2 },
      { kind: 'view', score: 3 },
    ]);
  });

  it('when another survey was swept a moment ago, then opening this survey is not flagged', async () => {
    const other = await surveyWithToken(t);
    const mine = await surveyWithToken(t);
    await open(`/r/${other.token}/1`).expect(200);
    await open(`/r/${mine.token}/5`).expect(200);
    expect(await linkEvents(t, mine.surveyId)).toEqual([{ kind: 'view', score: 5 }]);
  });

  it('when the hidden decoy link is fetched, then a scanner_decoy event is stored and no rating or view', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await open(`/r/${token}/check`);
    expect(res.status).toBe(200);
    expect(await linkEvents(t, surveyId)).toEqual([{ kind: 'scanner_decoy', score: null }]);
    expect(await ratingEvents(t, surveyId)).toEqual([]);
    expect((await surveyRow(t, surveyId)).score).toBeNull();
  });

  it('when the decoy link of an unknown token is fetched, then it answers 404 and stores nothing', async () => {
    await surveyWithToken(t);
    const res = await open(`/r/${'A'.repeat(43)}/check`);
    expect(res.status).toBe(404);
    expect(await t.count('link_events')).toBe(0);
  });

  it('when a link names a score outside 1..5, then it answers 404 and stores nothing', async () => {
    const { token } = await surveyWithToken(t);
    for (const score of ['0', '6', '45', 'abc', '-1']) {
      expect((await open(`/r/${token}/${score}`)).status).toBe(404);
    }
    expect(await t.count('link_events')).toBe(0);
  });

  it('when a scanner swept the links first, then the person can still rate with a POST', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    for (const score of [1, 2, 3, 4, 5]) await open(`/r/${token}/${score}`).expect(200);
    await request(t.app).post(`/r/${token}`).send({ score: 4 }).expect(200);
    expect(await ratingEvents(t, surveyId)).toEqual([{ kind: 'rated', score: 4, comment: null }]);
    expect((await surveyRow(t, surveyId)).score).toBe(4);
  });
});
