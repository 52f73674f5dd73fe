import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, ticketPayload, type TestApp } from '../helpers/boot';
import { createLink } from '../../src/signin/sessions';

describe('the audit trail of exports and erasures', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  const audit = async (query = '') => (await request(t.app).get(`/api/audit${query}`).set('Authorization', `Bearer ${t.config.adminToken}`)).body.items;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-28T12:00:00Z'));
    t = await bootApp({}, clock);
  });
  afterEach(() => t.close());

  it('when a signed-in lead and the reports token export CSV, then each export says who, what and from where; a JSON read is not an export', async () => {
    const user = await request(t.app).post('/api/users').set('Authorization', `Bearer ${t.config.adminToken}`).send({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] });
    const token = await createLink(t.db, user.body.id, clock.now(), 15);
    const cookie = String([(await request(t.app).post(`/login/${token}`).set('Origin', PUBLIC_URL)).headers['set-cookie']].flat()[0]).split(';')[0];
    await request(t.app).get('/reports/agents?format=csv&from=2026-11-01&to=2026-11-30').set('Cookie', cookie).expect(200);
    await request(t.app).get('/reports/trend?format=csv').set('Authorization', `Bearer ${t.config.reportsToken}`).expect(200);
    await request(t.app).get('/reports/agents?format=json').set('Authorization', `Bearer ${t.config.reportsToken}`).expect(200);
    const exports = await audit('?action=export');
    expect(exports.map((e: { actor: string; subject: string; detail: { from?: string }; ip: string }) => [e.actor, e.subject, e.detail.from ?? null, typeof e.ip])).toEqual([
      ['reports-token', '/reports/trend', '2026-10-30', 'string'], // the default period, as read
      ['lena@support.example', '/reports/agents', '2026-11-01', 'string'],
    ]);
  });

  it('when a customer is erased, then the trail records the erasure and its counts, never the address', async () => {
    await t.postWebhook(ticketPayload({ customer: { email: 'erase.me@example.com' } })).expect(202);
    await request(t.app).delete('/api/customers/erase.me@example.com').set('Authorization', `Bearer ${t.config.adminToken}`).expect(200);
    const [erasure] = await audit('?action=erasure');
    expect(erasure).toMatchObject({ actor: 'admin-token', action: 'erasure', subject: null, detail: { surveys: 1 } });
    expect(JSON.stringify(await audit())).not.toContain('erase.me');
  });
});
