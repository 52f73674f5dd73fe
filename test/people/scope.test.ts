import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng } from '../reports/seed';
import { createLink } from '../../src/signin/sessions';
import type { TicketClosed } from '../../src/surveys/types';

/**
 * Scope is enforced where data is read: every report route, in every format, walked as each role.
 * Rita works only for returns, Ada only for billing, Max for both; a billing lead must see Max's
 * billing surveys and nothing of returns, an agent only their own rows.
 */
const PEOPLE = {
  ada: { id: 'a-7', name: 'Ada Billingsley' },
  rita: { id: 'a-8', name: 'Rita Returnsworth' },
  max: { id: 'a-9', name: 'Max Bothways' },
};
const FROM = '2026-11-01';
const TO = '2026-11-30';

describe('what each role may read (reports walked route by route)', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let seq = 0;

  const ticket = (who: keyof typeof PEOPLE, team: string, day: number): TicketClosed => ({
    source: 'generic',
    ticketId: `S-${++seq}`,
    closedAt: new Date(`2026-11-${String(day).padStart(2, '0')}T10:00:00Z`),
    customer: { email: `c${seq}@example.com` },
    agent: { id: PEOPLE[who].id, name: PEOPLE[who].name, email: `${who}@support.example` },
    team,
    subject: `Subject ${seq}`,
    tags: [],
  });

  /** A session cookie for a new user of this role, signed in the way a browser does (the link's POST). */
  async function signedIn(body: Record<string, unknown>) {
    const res = await request(t.app).post('/api/users').set('Authorization', `Bearer ${t.config.adminToken}`).send(body);
    const token = await createLink(t.db, res.body.id, clock.now(), 15);
    const signed = await request(t.app).post(`/login/${token}`).set('Origin', PUBLIC_URL);
    expect(signed.status).toBe(303);
    return String([signed.headers['set-cookie']].flat()[0]).split(';')[0];
  }

  beforeAll(async () => {
    clock = manualClock(new Date('2026-11-28T12:00:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '365' }, clock);
    const seeder = createSeeder(t, clock, makeRng(11));
    const plan: Array<[keyof typeof PEOPLE, string, number, number]> = [
      ['ada', 'billing', 3, 5],
      ['ada', 'billing', 4, 2],
      ['rita', 'returns', 5, 1],
      ['rita', 'returns', 6, 4],
      ['max', 'billing', 7, 5],
      ['max', 'returns', 8, 1],
      ['max', 'returns', 9, 2],
    ];
    for (const [who, team, day, score] of plan) {
      const s = await seeder.schedule(ticket(who, team, day));
      await seeder.send(s);
      await seeder.rate(s, { score, comment: `${PEOPLE[who].name} on ${team}` });
    }
  });
  afterAll(() => t.close());

  const routes = [
    '/reports/agents?format=json',
    '/reports/agents?format=csv',
    '/reports/agents?format=html',
    '/reports/trend?format=json&interval=month',
    '/reports/trend?format=csv&interval=month',
    '/reports/variants?format=json&question=handling',
    '/reports/variants?format=csv&question=handling',
  ].map((r) => `${r}&from=${FROM}&to=${TO}`);

  const get = (path: string, cookie: string) => request(t.app).get(path).set('Cookie', cookie);

  it('when a billing lead reads every report, then each holds billing\'s surveys only: Max\'s billing part, nothing of Rita or returns', async () => {
    const lead = await signedIn({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] });
    for (const route of routes) {
      const res = await get(route, lead);
      expect([route, res.status]).toEqual([route, 200]);
      expect([route, res.text]).not.toEqual([route, expect.stringContaining('Rita')]);
      expect([route, res.text]).not.toEqual([route, expect.stringContaining('returns')]);
    }
    const agents = (await get(routes[0], lead)).body;
    expect(agents.overall).toMatchObject({ surveys_sent: 3, responses: 3, comments: 3 });
    expect(agents.agents.map((a: { agent_id: string; surveys_sent: number; team: string }) => [a.agent_id, a.surveys_sent, a.team]).sort()).toEqual([
      ['a-7', 2, 'billing'],
      ['a-9', 1, 'billing'],
    ]);
    expect((await get(routes[3], lead)).body.buckets.reduce((n: number, b: { surveys_sent: number }) => n + b.surveys_sent, 0)).toBe(3);
    expect((await get(routes[5], lead)).body.variants.reduce((n: number, v: { surveys_sent: number }) => n + v.surveys_sent, 0)).toBe(3);

    // The drill-down (ratings with comments) of Max shows his billing survey only; Rita is nobody to this lead.
    const max = await get(`/reports/agents/a-9?format=json&from=${FROM}&to=${TO}`, lead);
    expect(max.body.ratings.items.map((r: { comment: string }) => r.comment)).toEqual(['Max Bothways on billing']);
    expect(max.body.agent).toMatchObject({ surveys_sent: 1 });
    expect((await get(`/reports/agents/a-8?format=json&from=${FROM}&to=${TO}`, lead)).status).toBe(404);
    expect((await get(`/reports/agents/a-8?format=html&from=${FROM}&to=${TO}`, lead)).status).toBe(404);
    // Asking for another team is refused, not answered empty.
    expect((await get(`/reports/agents?format=json&team=returns&from=${FROM}&to=${TO}`, lead)).status).toBe(403);
  });

  it('when an agent reads every report, then each holds their own surveys only; anyone else\'s is 403', async () => {
    const agent = await signedIn({ email: 'max@support.example', name: 'Max', role: 'agent', agent_id: 'a-9' });
    for (const route of routes) {
      const res = await get(route, agent);
      expect([route, res.status]).toEqual([route, 200]);
      for (const other of ['Rita', 'Ada']) expect([route, res.text]).not.toEqual([route, expect.stringContaining(other)]);
    }
    const agents = (await get(routes[0], agent)).body;
    expect(agents.overall).toMatchObject({ surveys_sent: 3, responses: 3 });
    expect(agents.agents.map((a: { agent_id: string }) => a.agent_id)).toEqual(['a-9']);
    expect((await get(`/reports/agents/a-9?format=json&from=${FROM}&to=${TO}`, agent)).body.ratings.total).toBe(3);
    expect((await get(`/reports/agents/a-7?format=json&from=${FROM}&to=${TO}`, agent)).status).toBe(403);
    expect((await get(`/reports/trend?format=json&agent=a-7&from=${FROM}&to=${TO}`, agent)).status).toBe(403);
  });

  it('when an admin signs in, then they read everything, as the reports token does', async () => {
    const admin = await signedIn({ email: 'root@support.example', name: 'Root', role: 'admin' });
    const viaSession = (await get(routes[0], admin)).body;
    const viaToken = (await request(t.app).get(routes[0]).set('Authorization', `Bearer ${t.config.reportsToken}`)).body;
    expect(viaSession.overall).toEqual({ ...viaToken.overall });
    expect(viaSession.overall).toMatchObject({ surveys_sent: 7 });
    expect(viaSession.agents).toHaveLength(3);
    // The dashboard's filters offer the values that exist: every team, agent and question for an admin.
    const html = (await get(routes[2], admin)).text;
    for (const value of ['<option value="billing">', '<option value="returns">', '<option value="handling">', '<option value="a-8" label="Rita Returnsworth">']) expect(html).toContain(value);
  });

  it('when nobody is signed in and no token is given, then every report is 401, and a page is a redirect to /login (no Basic prompt)', async () => {
    for (const route of routes) {
      const res = await request(t.app).get(route);
      const page = route.includes('format=html');
      expect([route, res.status, res.headers.location, res.headers['www-authenticate'] !== undefined]).toEqual([route, page ? 303 : 401, page ? '/login' : undefined, !page]);
    }
    // A browser asks by Accept, without ?format.
    const browser = await request(t.app).get('/reports/agents').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect([browser.status, browser.headers.location]).toEqual([303, '/login']);
    const followups = await request(t.app).get('/followups').set('Accept', 'text/html,*/*;q=0.8');
    expect([followups.status, followups.headers.location]).toEqual([303, '/login']);
  });
});

describe('AGENT_VIEW=none', () => {
  it('when an agent signs in, then no report shows them scores', async () => {
    const clock = manualClock(new Date('2026-11-28T12:00:00Z'));
    const t = await bootApp({ AGENT_VIEW: 'none' }, clock);
    try {
      const res = await request(t.app).post('/api/users').set('Authorization', `Bearer ${t.config.adminToken}`).send({ email: 'ada@support.example', name: 'Ada', role: 'agent', agent_id: 'a-7' });
      const token = await createLink(t.db, res.body.id, clock.now(), 15);
      const signed = await request(t.app).post(`/login/${token}`).set('Origin', PUBLIC_URL);
      expect(signed.headers.location).toBe('/me');
      const cookie = String([signed.headers['set-cookie']].flat()[0]).split(';')[0];
      for (const route of ['/reports/agents?format=json', '/reports/agents/a-7?format=json', '/reports/trend?format=json']) {
        expect([route, (await request(t.app).get(route).set('Cookie', cookie)).status]).toEqual([route, 403]);
      }
    } finally {
      await t.close();
    }
  });
});
