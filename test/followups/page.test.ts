import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng, type SeededSurvey } from '../reports/seed';

/** The leads' queue page (/followups) over HTTP; a real browser drives it in test/e2e when chromium is there. */
describe('the follow-ups page', () => {
  let t: TestApp;
  let seeder: ReturnType<typeof createSeeder>;
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:${t.config.adminToken}`).toString('base64')}`;
  const page = (path: string) => request(t.app).get(path).set('Authorization', basic('lena'));
  const post = (path: string, form: Record<string, string>) =>
    request(t.app).post(path).set('Authorization', basic('Lena')).set('Origin', PUBLIC_URL).type('form').send(form);
  const sentSurvey = async (): Promise<SeededSurvey> => {
    const s = await seeder.schedule(seeder.randomTicket());
    if (s.status === 'suppressed') return sentSurvey();
    await seeder.send(s);
    return s;
  };

  beforeEach(async () => {
    const clock = manualClock(new Date('2026-11-20T09:00:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '365' }, clock);
    seeder = createSeeder(t, clock, makeRng(11));
  });
  afterEach(() => t.close());

  it('when a lead opens the queue, takes one, notes it and resolves it, then each form answers 303 back and the follow-up records it with the lead as author', async () => {
    const first = await sentSurvey();
    const second = await sentSurvey();
    await seeder.rate(first, { score: 1 });
    await seeder.rate(second, { score: 2 });
    const [a, b] = await t.db('followups').orderBy('id').pluck('id');

    const queue = await page('/followups');
    expect(queue.status).toBe(200);
    expect(queue.type).toBe('text/html');
    expect(queue.text.indexOf(`id="f${a}"`)).toBeLessThan(queue.text.indexOf(`id="f${b}"`)); // oldest first
    expect(queue.text).toContain(first.ticketId);

    const taken = await post(`/followups/${a}?back=status%3Dopen`, { action: 'take' });
    expect([taken.status, taken.headers.location]).toEqual([303, `/followups?status=open#f${a}`]);
    const noted = await post(`/followups/${a}`, { action: 'note', note: 'Called; <b>refund</b> sent.' });
    expect([noted.status, noted.headers.location]).toEqual([303, `/followups#f${a}`]); // no filters: no stray "?"
    const withNote = await page('/followups');
    expect(withNote.text).toContain('<ul class="notes" aria-label="Notes"><li><span class="muted">Lena, '); // the note shows, with its author
    expect(withNote.text).toContain('Called; &lt;b&gt;refund&lt;/b&gt; sent.'); // escaped
    expect((await post(`/followups/${a}`, { action: 'resolve', outcome: 'contacted' })).status).toBe(303);

    const events = await t.db('followup_events').where({ followup_id: a }).orderBy('id').select('kind', 'author', 'status', 'owner', 'note');
    expect(events.map((e) => [e.kind, e.author, e.status, e.owner, e.note])).toEqual([
      ['opened', null, 'open', null, null],
      ['changed', 'Lena', 'in_progress', 'Lena', null],
      ['note', 'Lena', 'in_progress', 'Lena', 'Called; <b>refund</b> sent.'],
      ['changed', 'Lena', 'resolved', 'Lena', null],
    ]);
    const open = await page('/followups');
    expect(open.text).not.toContain(`id="f${a}"`);
    expect(open.text).toContain(`id="f${b}"`);
    await post(`/followups/${b}`, { action: 'take' });
    expect((await page('/followups')).text).toContain(`id="f${b}"`); // taken, not resolved: still in the queue
    expect((await page('/followups?status=open')).text).not.toContain(`id="f${b}"`);
    expect((await page('/followups?status=resolved')).text).toContain(`id="f${a}"`);
  });

  it('when a form comes from another site, without the credential, or malformed, then nothing changes', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 1 });
    const [id] = await t.db('followups').pluck('id');
    const cross = await request(t.app).post(`/followups/${id}`).set('Authorization', basic('x')).set('Origin', 'https://evil.example').type('form').send({ action: 'take' });
    expect(cross.status).toBe(403);
    expect((await request(t.app).post(`/followups/${id}`).set('Origin', PUBLIC_URL).type('form').send({ action: 'take' })).status).toBe(401);
    expect((await request(t.app).get('/followups')).status).toBe(401);
    const forms: Array<Record<string, string>> = [{ action: 'drop' }, { action: 'note', note: '  ' }, { action: 'resolve', outcome: 'maybe' }];
    for (const form of forms) expect((await post(`/followups/${id}`, form)).status).toBe(400);
    expect((await post('/followups/0', { action: 'take' })).status).toBe(404);
    expect((await post('/followups/99999', { action: 'take' })).status).toBe(404);
    expect(await t.db('followup_events').where({ followup_id: id }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]);
    expect((await page('/followups?status=closed')).status).toBe(400);
  });
});
