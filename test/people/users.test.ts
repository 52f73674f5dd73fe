import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';

describe('users and roles (/api/users, admin credential)', () => {
  let t: TestApp;
  const admin = (r: request.Test) => r.set('Authorization', `Bearer ${t.config.adminToken}`);
  const post = (body: unknown) => admin(request(t.app).post('/api/users')).send(body as object);
  const patch = (id: number, body: unknown) => admin(request(t.app).patch(`/api/users/${id}`)).send(body as object);
  const audit = async () => (await admin(request(t.app).get('/api/audit'))).body.items as Array<{ actor: string; action: string; subject: string; detail: Record<string, unknown> }>;

  beforeEach(async () => {
    t = await bootApp({}, manualClock(new Date('2026-11-30T09:00:00Z')));
  });
  afterEach(() => t.close());

  it('when an admin adds a lead, an agent and an admin, then each is stored as given (email lowercased) and listed, and the audit trail says who did it', async () => {
    const lead = await post({ email: 'Lena@Support.Example', name: 'Lena', role: 'lead', teams: ['billing'] });
    expect([lead.status, lead.body]).toEqual([201, expect.objectContaining({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'], agent_id: null })]);
    expect((await post({ email: 'ada@support.example', name: 'Ada', role: 'agent', agent_id: 'a-7' })).status).toBe(201);
    expect((await post({ email: 'root@support.example', name: 'Root', role: 'admin' })).status).toBe(201);
    const list = await admin(request(t.app).get('/api/users'));
    expect(list.body.items.map((u: { email: string; role: string }) => [u.email, u.role])).toEqual([
      ['ada@support.example', 'agent'],
      ['lena@support.example', 'lead'],
      ['root@support.example', 'admin'],
    ]);
    expect((await audit()).map((e) => [e.actor, e.action, e.subject])).toEqual([
      ['admin-token', 'user_added', 'root@support.example'],
      ['admin-token', 'user_added', 'ada@support.example'],
      ['admin-token', 'user_added', 'lena@support.example'],
    ]);
  });

  it.each([
    [{ email: 'not-an-address', name: 'X', role: 'lead', teams: ['billing'] }, 'email'],
    [{ email: 'x@example.com', name: 'X', role: 'lead' }, 'teams'],
    [{ email: 'x@example.com', name: 'X', role: 'agent' }, 'agent_id'],
    [{ email: 'x@example.com', name: 'X', role: 'admin', teams: ['billing'] }, 'role'],
    [{ email: 'x@example.com', name: 'X', role: 'owner' }, 'role'],
    [{ email: 'x@example.com', name: 'X\u0000', role: 'admin' }, 'name'],
    [{ email: 'x@example.com', name: 'X\ud800', role: 'admin' }, 'name'],
    [{ email: 'x@example.com', name: 'X', role: 'lead', teams: ['billing\udbff'] }, 'teams'],
    [{ email: 'x@example.com', name: 'X', role: 'admin', password: 'hunter2' }, 'password'],
  ])('when the user %j is posted, then 400 names %s and nothing is stored', async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.details)).toContain(field);
    expect(await t.count('users')).toBe(0);
    expect(await t.count('audit_events')).toBe(0);
  });

  it('when the same email is added twice, then 409 and one user', async () => {
    expect((await post({ email: 'lena@support.example', name: 'Lena', role: 'admin' })).status).toBe(201);
    const again = await post({ email: 'LENA@support.example', name: 'Other', role: 'admin' });
    expect([again.status, again.body.error]).toEqual([409, 'user_exists']);
    expect(await t.count('users')).toBe(1);
  });

  it('when a lead becomes an agent, then the change must bring an agent_id, takes the teams away, and is audited', async () => {
    const { body: lead } = await post({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing', 'returns'] });
    expect((await patch(lead.id, { role: 'agent' })).status).toBe(400);
    const changed = await patch(lead.id, { role: 'agent', agent_id: 'a-9' });
    expect([changed.status, changed.body]).toEqual([200, expect.objectContaining({ role: 'agent', teams: [], agent_id: 'a-9' })]);
    expect((await audit())[0]).toMatchObject({ action: 'user_changed', subject: 'lena@support.example', detail: { signed_out: true, role: 'agent' } });
    expect((await patch(lead.id, { name: 'Lena M.' })).body.name).toBe('Lena M.');
    expect((await audit())[0]).toMatchObject({ detail: { signed_out: false } });
  });

  it('when a user is removed, then they are gone and the removal is audited; an unknown id is 404', async () => {
    const { body: u } = await post({ email: 'gone@support.example', name: 'Gone', role: 'admin' });
    expect((await admin(request(t.app).delete(`/api/users/${u.id}`))).status).toBe(204);
    expect((await admin(request(t.app).get(`/api/users/${u.id}`))).status).toBe(404);
    expect((await admin(request(t.app).delete(`/api/users/${u.id}`))).status).toBe(404);
    expect((await admin(request(t.app).get('/api/users/99999999999'))).status).toBe(404);
    expect((await audit())[0]).toMatchObject({ action: 'user_removed', subject: 'gone@support.example' });
  });

  it('when the admin credential is missing or is the reports token, then 401 and nothing changes', async () => {
    expect((await request(t.app).post('/api/users').send({ email: 'x@example.com', name: 'X', role: 'admin' })).status).toBe(401);
    expect((await request(t.app).get('/api/users').set('Authorization', `Bearer ${t.config.reportsToken}`)).status).toBe(401);
    expect((await request(t.app).get('/api/audit')).status).toBe(401);
    expect(await t.count('users')).toBe(0);
  });
});
