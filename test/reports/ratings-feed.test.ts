import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng } from './seed';
import { createLink } from '../../src/signin/sessions';

/** The comments of a whole scope in one feed (score filter, search) and the per-ticket CSV. */
describe('GET /reports/ratings', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${t.config.reportsToken}`);
  const FROM = 'from=2026-11-01&to=2026-11-30';

  beforeAll(async () => {
    clock = manualClock(new Date('2026-11-28T12:00:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '365' }, clock);
    const seeder = createSeeder(t, clock, makeRng(3));
    const plan: Array<[string, string, number, string | undefined]> = [
      ['a-1', 'billing', 1, 'Refund took 100% too long_ really'],
      ['a-1', 'billing', 5, 'Great, thanks!'],
      ['a-2', 'returns', 2, 'Nobody answered'],
      ['a-2', 'returns', 4, undefined],
      ['a-3', 'billing', 1, '=HYPERLINK("http://evil")'],
    ];
    let day = 1;
    for (const [agent, team, score, comment] of plan) {
      const s = await seeder.schedule({ ...seeder.randomTicket(), closedAt: new Date(`2026-11-${String(++day).padStart(2, '0')}T10:00:00Z`), team, agent: { id: agent, name: `Agent ${agent}`, email: `${agent}@support.example` }, subject: `About ${agent}` });
      await seeder.send(s);
      await seeder.rate(s, { score, ...(comment && { comment }) });
    }
  });
  afterAll(() => t.close());

  it('when asked for the whole scope, then every rated survey shows newest first, with agent, team and comment', async () => {
    const res = await get(`/reports/ratings?format=json&${FROM}`);
    expect(res.status).toBe(200);
    expect(res.body.ratings.total).toBe(5);
    expect(res.body.ratings.items.map((r: { agent_id: string; score: number }) => [r.agent_id, r.score])).toEqual([
      ['a-3', 1],
      ['a-2', 4],
      ['a-2', 2],
      ['a-1', 5],
      ['a-1', 1],
    ]);
    expect(res.body.ratings.items[4]).toMatchObject({ agent_name: 'Agent a-1', team: 'billing', subject: 'About a-1', comment: 'Refund took 100% too long_ really' });
  });

  it('when filtered by scores, a search (any case, % and _ literal) and a team, then only those match', async () => {
    const scores = await get(`/reports/ratings?format=json&${FROM}&score=1,2`);
    expect(scores.body.ratings.items.map((r: { score: number }) => r.score)).toEqual([1, 2, 1]);
    expect((await get(`/reports/ratings?format=json&${FROM}&score=1&score=5`)).body.ratings.total).toBe(3);
    expect((await get(`/reports/ratings?format=json&${FROM}&q=NOBODY`)).body.ratings.items.map((r: { comment: string }) => r.comment)).toEqual(['Nobody answered']);
    expect((await get(`/reports/ratings?format=json&${FROM}&q=${encodeURIComponent('100%')}`)).body.ratings.total).toBe(1);
    expect((await get(`/reports/ratings?format=json&${FROM}&q=${encodeURIComponent('g_')}`)).body.ratings.total).toBe(1); // "long_": _ is a character, not a wildcard
    expect((await get(`/reports/ratings?format=json&${FROM}&q=${encodeURIComponent('%')}`)).body.ratings.total).toBe(1);
    expect((await get(`/reports/ratings?format=json&${FROM}&team=billing&score=1`)).body.ratings.total).toBe(2);
    expect((await get(`/reports/ratings?format=json&${FROM}&score=6`)).status).toBe(400);
    expect((await get(`/reports/ratings?format=json&${FROM}&q=${encodeURIComponent('a\u0001b')}`)).status).toBe(400);
  });

  it('when exported as CSV, then one row per ticket with score and comment, formulas defused', async () => {
    const res = await get(`/reports/ratings?format=csv&${FROM}&team=billing`);
    expect(res.status).toBe(200);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('ticket_id,subject,agent_id,agent_name,team,brand,closed_at,rated_at,score,comment,credited_by,survey_id');
    expect(lines).toHaveLength(4);
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(res.headers['content-disposition']).toBe('attachment; filename=ratings_2026-11-01_2026-11-30.csv');
  });

  it('when the HTML feed is opened, then it shows the filters and escapes comments', async () => {
    const res = await get(`/reports/ratings?format=html&${FROM}&score=1`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<input type="checkbox" name="score" value="1" checked>');
    expect(res.text).toContain('HYPERLINK(&quot;http://evil&quot;)');
    expect(res.text).not.toContain('"http://evil"');
    expect(res.text).not.toContain('Great, thanks!');
  });

  it('when a billing lead reads the feed, then returns\' comments never show', async () => {
    const user = await request(t.app).post('/api/users').set('Authorization', `Bearer ${t.config.adminToken}`).send({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] });
    const token = await createLink(t.db, user.body.id, clock.now(), 15);
    const cookie = String([(await request(t.app).post(`/login/${token}`).set('Origin', PUBLIC_URL)).headers['set-cookie']].flat()[0]).split(';')[0];
    for (const format of ['json', 'csv', 'html']) {
      const res = await request(t.app).get(`/reports/ratings?format=${format}&${FROM}`).set('Cookie', cookie);
      expect([format, res.status]).toEqual([format, 200]);
      expect([format, res.text]).not.toEqual([format, expect.stringContaining('Nobody answered')]);
    }
    expect((await request(t.app).get(`/reports/ratings?format=json&${FROM}`).set('Cookie', cookie)).body.ratings.total).toBe(3);
  });
});
