import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng, type SeededSurvey } from '../reports/seed';
import { createLink } from '../../src/signin/sessions';

describe('the /followups page for a signed-in lead: their teams only, forms with the session\'s CSRF token', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let billing: SeededSurvey;
  let returns: SeededSurvey;
  const followupOf = async (s: SeededSurvey) => (await t.db('followups').where({ survey_id: s.id }).first('id')).id as number;

  async function signedIn(body: Record<string, unknown>) {
    const res = await request(t.app).post('/api/users').set('Authorization', `Bearer ${t.config.adminToken}`).send(body);
    const token = await createLink(t.db, res.body.id, clock.now(), 15);
    const signed = await request(t.app).post(`/login/${token}`).set('Origin', PUBLIC_URL);
    const cookie = String([signed.headers['set-cookie']].flat()[0]).split(';')[0];
    const { csrf } = await t.db('sessions').orderBy('created_at', 'desc').first('csrf');
    return { cookie, csrf: csrf as string };
  }

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-28T12:00:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '365' }, clock);
    const seeder = createSeeder(t, clock, makeRng(5));
    const make = async (team: string) => {
      const s = await seeder.schedule({ ...seeder.randomTicket(), team, agent: { id: 'a-7', name: 'Ada', email: 'ada@support.example' } });
      await seeder.send(s);
      await seeder.rate(s, { score: 1 });
      return s;
    };
    billing = await make('billing');
    returns = await make('returns');
  });
  afterEach(() => t.close());

  it('when a billing lead opens the queue and works a follow-up, then only billing\'s show, and their changes need the CSRF token and name them', async () => {
    const lead = await signedIn({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] });
    const [b, r] = [await followupOf(billing), await followupOf(returns)];
    const page = await request(t.app).get('/followups').set('Cookie', lead.cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`id="f${b}"`);
    expect(page.text).not.toContain(`id="f${r}"`);
    expect(page.text).toContain(`name="csrf" value="${lead.csrf}"`);
    expect((await request(t.app).get('/followups?team=returns').set('Cookie', lead.cookie)).status).toBe(403);

    const post = (id: number, body: Record<string, string>) => request(t.app).post(`/followups/${id}`).set('Origin', PUBLIC_URL).set('Cookie', lead.cookie).type('form').send(body);
    expect((await post(b, { action: 'take' })).status).toBe(403); // no token: a stale or forged form
    expect((await post(r, { action: 'take', csrf: lead.csrf })).status).toBe(404); // not one of theirs
    expect((await post(b, { action: 'take', csrf: lead.csrf })).status).toBe(303);
    expect(await t.db('followups').where({ id: b }).first('status', 'owner')).toEqual({ status: 'in_progress', owner: 'lena@support.example' });
    expect(await t.db('followups').where({ id: r }).first('status', 'owner')).toEqual({ status: 'open', owner: null });
  });

  it('when an agent opens the follow-ups, then 403; the admin credential still sees all', async () => {
    const agent = await signedIn({ email: 'ada@support.example', name: 'Ada', role: 'agent', agent_id: 'a-7' });
    expect((await request(t.app).get('/followups').set('Cookie', agent.cookie)).status).toBe(403);
    const all = await request(t.app).get('/followups').set('Authorization', `Bearer ${t.config.adminToken}`);
    for (const s of [billing, returns]) expect(all.text).toContain(`id="f${await followupOf(s)}"`);
  });
});
