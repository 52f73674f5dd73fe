import request from 'supertest';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

describe('GET /api/surveys', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${t.config.adminToken}`);

  beforeEach(async () => {
    t = await bootApp();
  });
  afterEach(() => t.close());

  it('when pages are walked with the cursor, then every survey appears once, newest closed first', async () => {
    for (let i = 0; i < 7; i += 1) await t.postWebhook(ticketPayload({ ticket_id: `T-api-${i}`, closed_at: `2026-11-1${i}T10:00:00Z` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await get(`/api/surveys?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((s: { ticket_id: string }) => s.ticket_id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['T-api-6', 'T-api-5', 'T-api-4', 'T-api-3', 'T-api-2', 'T-api-1', 'T-api-0']);
  });

  it('when filtered by ticket, status, agent and period, then only matching surveys come back', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-a', agent: { id: 'a-1' }, closed_at: '2026-11-10T10:00:00Z' }));
    await t.postWebhook(ticketPayload({ ticket_id: 'T-b', agent: { id: 'a-2' }, closed_at: '2026-11-12T10:00:00Z', tags: ['spam'] }));
    const ids = async (qs: string) => (await get(`/api/surveys?${qs}`)).body.items.map((s: { ticket_id: string }) => s.ticket_id);
    expect(await ids('ticket_id=T-a')).toEqual(['T-a']);
    expect(await ids('status=suppressed')).toEqual(['T-b']);
    expect(await ids('agent_id=a-1')).toEqual(['T-a']);
    expect(await ids('from=2026-11-11&to=2026-11-13T00:00:00Z')).toEqual(['T-b']);
  });

  it('when a survey is looked up, then it shows delivery status, attempts, last error and rating history', async () => {
    const res = await t.postWebhook(ticketPayload({ ticket_id: 'T-d' }));
    await t.services.worker.drain();
    const token = await t.services.surveys.issueToken(res.body.survey_id);
    await t.services.ratings.recordRating(token, { score: 2 });
    await t.services.ratings.recordRating(token, { score: 4, comment: 'better' });
    const detail = await get(`/api/surveys/${res.body.survey_id}`);
    expect(detail.body).toMatchObject({
      ticket_id: 'T-d',
      status: 'sent',
      score: 4,
      comment: 'better',
      delivery: { status: 'sent', attempts: 1, last_error: null },
    });
    expect(detail.body.rating_history.map((h: { kind: string; score: number }) => [h.kind, h.score])).toEqual([
      ['rated', 2],
      ['changed', 4],
      ['commented', null],
    ]);
    expect((await get('/api/surveys/nope')).status).toBe(404);
  });

  it.each([
    ['from=0001-01-01', 'from', 'must be between 2000-01-01 and 2199-12-31'],
    ['to=9999-12-31', 'to', 'must be between 2000-01-01 and 2199-12-31'],
    ['from=1999-12-31T23:59:59Z', 'from', 'must be between 2000-01-01 and 2199-12-31'],
    ['to=2200-01-01T01:30:00%2B01:00', 'to', 'must be between 2000-01-01 and 2199-12-31'],
    ['from=2026-02-30', 'from', 'must be an ISO-8601 date or date-time'],
    ['to=2026-11-20T10:00:00%2B99:99', 'to', 'must be an ISO-8601 date or date-time'],
    ['to=2026-11-20T10:00:00', 'to', 'must be an ISO-8601 date or date-time'],
    ['from=%2B275760-09-13', 'from', 'must be an ISO-8601 date or date-time'],
  ])('when the period is %s, then 400 invalid_query names %s', async (qs, path, message) => {
    const res = await get(`/api/surveys?${qs}`);
    expect([res.status, res.body.error, res.body.details]).toEqual([400, 'invalid_query', [{ path, message }]]);
  });

  it('when an id carries a control character (PostgreSQL refuses NUL), then the list answers 400 naming it and the lookup 404', async () => {
    for (const field of ['ticket_id', 'agent_id']) {
      const res = await get(`/api/surveys?${field}=T-1%00`);
      expect([res.status, res.body.details]).toEqual([400, [{ path: field, message: 'must not contain control characters' }]]);
    }
    expect((await get('/api/surveys/%00')).status).toBe(404);
    expect((await get('/api/surveys/a%0Ab')).status).toBe(404);
  });

  it('when the period runs from the first to the last supported day, or is empty, then every survey comes back', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-edge', closed_at: '2000-01-01T00:00:00Z' }));
    for (const qs of ['from=2000-01-01&to=2199-12-31', 'from=&to=', 'from=2000-01-01T00:00:00Z&to=2199-12-31T23:59:59.999Z']) {
      expect((await get(`/api/surveys?${qs}`)).body.items.map((s: { ticket_id: string }) => s.ticket_id)).toEqual(['T-edge']);
    }
  });

  it.each([
    ['closed_at beyond what Date holds', [1e20, 'x']],
    ['closed_at outside the calendar', [Date.parse('9999-12-31T00:00:00Z'), 'x']],
    ['closed_at not a number', ['2026-11-20', 'x']],
    ['no id', [Date.parse('2026-11-20T00:00:00Z')]],
  ])('when the cursor was forged with %s, then 400 invalid_query names the cursor', async (_case, value) => {
    const cursor = Buffer.from(JSON.stringify(value)).toString('base64url');
    const res = await get(`/api/surveys?cursor=${cursor}`);
    expect([res.status, res.body.details]).toEqual([400, [{ path: 'cursor', message: 'is not valid' }]]);
  });

  it('when the credential or a parameter is wrong, then 401 or 400', async () => {
    expect((await request(t.app).get('/api/surveys')).status).toBe(401);
    expect((await request(t.app).get('/api/surveys').set('Authorization', `Bearer ${t.config.reportsToken}`)).status).toBe(401);
    for (const qs of ['status=lost', 'limit=0', 'from=yesterday', 'cursor=%%%']) {
      const res = await get(`/api/surveys?${qs}`);
      expect([qs, res.status, res.body.error]).toEqual([qs, 400, 'invalid_query']);
    }
  });
});
