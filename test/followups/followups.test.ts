import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng, type SeededSurvey } from '../reports/seed';

describe('follow-ups of low ratings', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let seeder: ReturnType<typeof createSeeder>;
  const admin = (r: request.Test) => r.set('Authorization', `Bearer ${t.config.adminToken}`);
  const get = (path: string) => admin(request(t.app).get(path));
  const patch = (path: string, body: unknown) => admin(request(t.app).patch(path)).send(body as object);
  const followupOf = (s: SeededSurvey) => t.db('followups').where({ survey_id: s.id }).first();
  const sentSurvey = async () => {
    const s = await seeder.schedule(seeder.randomTicket());
    if (s.status === 'suppressed') return sentSurvey();
    await seeder.send(s);
    return s;
  };

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T09:00:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '365', RATING_CHANGE_DAYS: '365', RATING_HOLD_SECONDS: '5' }, clock);
    seeder = createSeeder(t, clock, makeRng(7));
  });
  afterEach(() => t.close());

  it('when a person rates 1, then one follow-up opens in the rating\'s transaction; a 5 opens none', async () => {
    const low = await sentSurvey();
    const high = await sentSurvey();
    await seeder.rate(low, { score: 1 });
    await seeder.rate(high, { score: 5 });
    expect(await followupOf(low)).toMatchObject({ status: 'open', score: 1, agent_id: low.agentId, team: low.team, owner: null, outcome: null });
    expect(await followupOf(high)).toBeUndefined();
    // The same low rating again, or a comment on it, opens no second one.
    await seeder.rate(low, { score: 2 });
    await seeder.rate(low, { comment: 'Still waiting.' });
    expect(await t.db('followups').where({ survey_id: low.id }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]);
    expect((await followupOf(low)).score).toBe(2);
  });

  it('when ALERT_MAX_SCORE is 3, then a 3 opens one and a 4 does not', async () => {
    await t.close();
    t = await bootApp({ TOKEN_TTL_DAYS: '365', ALERT_MAX_SCORE: '3' }, clock);
    seeder = createSeeder(t, clock, makeRng(8));
    const three = await sentSurvey();
    const four = await sentSurvey();
    await seeder.rate(three, { score: 3 });
    await seeder.rate(four, { score: 4 });
    expect(await followupOf(three)).toMatchObject({ status: 'open' });
    expect(await followupOf(four)).toBeUndefined();
  });

  it('when the page posted a low rating that counts after the hold, then it opens one; a scanner sweep that was discarded opens none', async () => {
    const held = await sentSurvey();
    const token = await t.services.surveys.issueToken(held.id);
    await t.services.ratings.holdRating(token, 1, { visibleMs: 5000, interacted: true });
    expect(await followupOf(held)).toBeUndefined(); // pending: nothing counted yet
    clock.advance(6000);
    await t.services.ratings.decidePending();
    expect(await followupOf(held)).toMatchObject({ status: 'open', score: 1 });

    const scanned = await sentSurvey();
    await seeder.scan(scanned);
    expect(await followupOf(scanned)).toBeUndefined();
  });

  it('when a lead takes, notes and resolves one through the API, then each change is an event with its author and time', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 1, comment: 'Nobody answered.' });
    const { id } = await followupOf(s);

    const queue = await get('/api/followups?status=open');
    expect(queue.status).toBe(200);
    expect(queue.body.items.map((f: { id: number }) => f.id)).toEqual([id]);

    clock.advance(3_600_000);
    const takenAt = clock.now().toISOString();
    const taken = await patch(`/api/followups/${id}`, { owner: 'lena@support.example', author: 'Lena' });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ status: 'in_progress', owner: 'lena@support.example', first_action_at: takenAt });

    clock.advance(60_000);
    const resolvedAt = clock.now().toISOString();
    expect((await patch(`/api/followups/${id}`, { note: 'Called back; refund on its way.', author: 'Lena' })).status).toBe(200);
    expect((await patch(`/api/followups/${id}`, { status: 'resolved' })).status).toBe(400); // resolving needs an outcome
    const resolved = await patch(`/api/followups/${id}`, { outcome: 'contacted', author: 'Lena' });
    expect(resolved.body).toMatchObject({ status: 'resolved', outcome: 'contacted', resolved_at: resolvedAt, first_action_at: takenAt });

    const detail = await get(`/api/followups/${id}`);
    expect(detail.body.events.map((e: { kind: string; author: string | null; status: string; note: string | null }) => [e.kind, e.author, e.status, e.note])).toEqual([
      ['opened', null, 'open', null],
      ['changed', 'Lena', 'in_progress', null],
      ['note', 'Lena', 'in_progress', 'Called back; refund on its way.'],
      ['changed', 'Lena', 'resolved', null],
    ]);
    expect(detail.body.survey).toMatchObject({ id: s.id, score: 1, comment: 'Nobody answered.' });
    expect(detail.body.survey.rating_history.map((h: { kind: string }) => h.kind)).toEqual(['rated', 'commented']);
    expect((await get('/api/followups?status=open')).body.items).toEqual([]);
  });

  it('when the customer changes a low rating to a good one, then the follow-up resolves as recovered by itself, and reopens if it turns low again', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 2 });
    await seeder.rate(s, { score: 5 });
    expect(await followupOf(s)).toMatchObject({ status: 'resolved', outcome: 'recovered', score: 5 });
    await seeder.rate(s, { score: 1 });
    expect(await followupOf(s)).toMatchObject({ status: 'open', outcome: null, resolved_at: null, score: 1 });
    const { id } = await followupOf(s);
    expect((await get(`/api/followups/${id}`)).body.events.map((e: { kind: string }) => e.kind)).toEqual(['opened', 'recovered', 'reopened']);
  });

  it('when a lead resolved it and the customer then goes from 2 to 1, then it stays resolved; only a good rating and a low one after it reopen it', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 2 });
    const { id } = await followupOf(s);
    await patch(`/api/followups/${id}`, { outcome: 'contacted', author: 'Lena' });
    await seeder.rate(s, { score: 1 });
    expect(await followupOf(s)).toMatchObject({ status: 'resolved', outcome: 'contacted', score: 1 });
    await seeder.rate(s, { score: 5 });
    expect(await followupOf(s)).toMatchObject({ status: 'resolved', outcome: 'contacted', score: 5 });
    await seeder.rate(s, { score: 2 });
    expect(await followupOf(s)).toMatchObject({ status: 'open', outcome: null, score: 2 });
  });

  it('when a change is malformed, unknown or unauthenticated, then it answers 4xx and changes nothing', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 1 });
    const { id } = await followupOf(s);
    const before = await t.db('followup_events').count<{ n: number }[]>({ n: '*' });
    for (const body of [{}, { status: 'closed' }, { outcome: 'happy' }, { status: 'open', outcome: 'contacted' }, { note: '' }, { note: 'x'.repeat(2001) }, { note: 'Called \ud800' }, { owner: 'Ana\udc00' }, { owner: 'a\nb' }, { colour: 'red' }]) {
      const res = await patch(`/api/followups/${id}`, body);
      expect([res.status, res.body.error]).toEqual([400, 'invalid_change']);
    }
    expect((await patch('/api/followups/999999', { note: 'hello' })).status).toBe(404);
    expect((await patch('/api/followups/abc', { note: 'hello' })).status).toBe(404);
    expect((await patch('/api/followups/9999999999', { note: 'hello' })).status).toBe(404); // past a 32-bit id: no query
    expect((await get('/api/followups/2147483648')).status).toBe(404);
    const cursor = Buffer.from(JSON.stringify([Date.parse('2026-11-20T00:00:00Z'), 2 ** 40])).toString('base64url');
    expect((await get(`/api/followups?cursor=${cursor}`)).status).toBe(400);
    expect((await request(t.app).patch(`/api/followups/${id}`).send({ note: 'hello' })).status).toBe(401);
    expect((await get('/api/followups?status=closed')).status).toBe(400);
    expect(await t.db('followup_events').count<{ n: number }[]>({ n: '*' })).toEqual(before);
  });

  it('when the customer is erased, then the notes on their follow-up are erased too', async () => {
    const s = await sentSurvey();
    await seeder.rate(s, { score: 1 });
    const { id } = await followupOf(s);
    await patch(`/api/followups/${id}`, { note: 'Customer Ann Example says the parcel never came.' });
    const survey = await t.services.surveys.getSurvey(s.id);
    await t.services.privacy.eraseCustomer(survey!.customerEmail);
    expect(await t.db('followup_events').where({ followup_id: id }).whereNotNull('note').pluck('note')).toEqual(['[erased]']);
  });

  it('when rating webhooks are on, then each follow-up event goes to the receivers after its rating event, and erasure blanks a queued note', async () => {
    await t.close();
    t = await bootApp({ TOKEN_TTL_DAYS: '365', RATING_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', RATING_WEBHOOK_SECRET: 'rating-webhook-secret-0123456789' }, clock);
    seeder = createSeeder(t, clock, makeRng(9));
    const s = await sentSurvey();
    await seeder.rate(s, { score: 1 });
    const { id } = await followupOf(s);
    await patch(`/api/followups/${id}`, { note: 'Ann says the parcel never came.', author: 'Lena' });
    await seeder.rate(s, { score: 4 });
    const queued = (await t.db('hook_outbox').where({ survey_id: s.id }).orderBy('id').pluck('body')).map((b: string) => JSON.parse(b));
    expect(queued.map((b) => [b.event, b.status ?? null, b.author ?? null])).toEqual([
      ['rating.created', null, null],
      ['followup.opened', 'open', null],
      ['followup.note', 'open', 'Lena'],
      ['rating.updated', null, null],
      ['followup.recovered', 'resolved', null],
    ]);
    expect(queued[2]).toMatchObject({ followup_id: id, survey_id: s.id, note: 'Ann says the parcel never came.' });

    const survey = await t.services.surveys.getSurvey(s.id);
    await t.services.privacy.eraseCustomer(survey!.customerEmail);
    const after = (await t.db('hook_outbox').where({ survey_id: s.id }).orderBy('id').pluck('body')).map((b: string) => JSON.parse(b));
    expect(after[2].note).toBe('[erased]');
    expect(after.map((b) => b.event)).toEqual(queued.map((b) => b.event));
  });

  it('when ALERT_WEBHOOK_URL is set, then a 1-rating sends one alert whose text names the score, agent, ticket and comment; a 5 and a later comment send none; erasure blanks a queued one', async () => {
    const received: Array<{ body: Record<string, unknown>; signed: boolean }> = [];
    const receiver = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push({ body: JSON.parse(raw), signed: 'x-closeloop-signature' in req.headers });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      await t.close();
      t = await bootApp({ TOKEN_TTL_DAYS: '365', ALERT_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack` }, clock);
      seeder = createSeeder(t, clock, makeRng(10));
      const low = await sentSurvey();
      const high = await sentSurvey();
      await seeder.rate(low, { score: 1, comment: 'Nobody called back.' });
      await seeder.rate(high, { score: 5 });
      await seeder.rate(low, { comment: 'Still nothing.' });
      expect(await t.services.hooks.drain()).toBe(1); // the one alert (no rating webhooks are set)
      const { id } = await followupOf(low);
      expect(received).toHaveLength(1);
      expect(received[0].signed).toBe(false); // no RATING_WEBHOOK_SECRET: nothing to sign with
      expect(received[0].body).toMatchObject({ event: 'alert.low_rating', followup_id: id, survey_id: low.id, ticket_id: low.ticketId, score: 1, comment: 'Nobody called back.' });
      const text = received[0].body.text as string;
      for (const part of ['Low rating 1/5', low.agentName ?? low.agentId ?? 'no agent', low.ticketId, 'Nobody called back.', `${t.config.publicUrl}/followups#f${id}`]) expect(text).toContain(part);

      // An alert still queued when its customer is erased keeps no comment or subject.
      const other = await sentSurvey();
      await seeder.rate(other, { score: 2, comment: 'Ann Example here, call me.' });
      const survey = await t.services.surveys.getSurvey(other.id);
      await t.services.privacy.eraseCustomer(survey!.customerEmail);
      const [queued] = (await t.db('hook_outbox').where({ survey_id: other.id }).pluck('body')).map((b: string) => JSON.parse(b));
      expect(queued).toMatchObject({ event: 'alert.low_rating', comment: '[erased]', subject: null });
      expect(queued.text).not.toMatch(/Ann|call me|Question/);
    } finally {
      receiver.close();
    }
  });
});
