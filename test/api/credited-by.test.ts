import request from 'supertest';
import { migrationSource } from '../../migrations';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

describe('credited_by in the operators API', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${t.config.adminToken}`);

  beforeEach(async () => {
    t = await bootApp();
  });
  afterEach(() => t.close());

  it('when surveys were credited in different ways, then the list and the detail say how (null without an agent)', async () => {
    const named = await t.postWebhook(ticketPayload({ ticket_id: 'T-named', closed_at: '2026-11-10T10:00:00Z' }));
    const closer = await t.postWebhook(ticketPayload({ ticket_id: 'T-closer', closed_at: '2026-11-11T10:00:00Z', closed_by: { id: 'g-1', name: 'Grace' } }));
    const nobody = await t.services.surveys.scheduleSurvey({
      source: 'test',
      ticketId: 'T-nobody',
      closedAt: new Date('2026-11-12T10:00:00Z'),
      customer: { email: 'bob@example.com' },
      candidates: {},
      tags: [],
    });
    const list = await get('/api/surveys');
    expect(list.body.items.map((s: { ticket_id: string; agent: unknown; credited_by: unknown }) => [s.ticket_id, s.agent, s.credited_by])).toEqual([
      ['T-nobody', null, null],
      ['T-closer', { id: 'g-1', name: 'Grace' }, 'closer'],
      ['T-named', { id: 'a-7', name: 'Ada Lovelace' }, 'payload'],
    ]);
    expect((await get(`/api/surveys/${closer.body.survey_id}`)).body).toMatchObject({ ticket_id: 'T-closer', credited_by: 'closer' });
    expect((await get(`/api/surveys/${named.body.survey_id}`)).body).toMatchObject({ credited_by: 'payload' });
    expect((await get(`/api/surveys/${nobody.surveyId}`)).body).toMatchObject({ status: 'suppressed', suppression_reason: 'no_agent', credited_by: null });
  });

  it('when the migration is undone and redone over stored surveys, then the column goes and comes back filled as before (generic: payload, adapters: assignee)', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-old-generic' }));
    await t.db('surveys').insert({ ...(await t.db('surveys').where({ ticket_id: 'T-old-generic' }).first()), id: 'old-adapter', source: 'zendesk', ticket_id: 'Z-1', message_id: '<old@x>' });
    await t.db.migrate.down({ migrationSource, name: '20261130020000_credited_by' });
    expect(await t.db.schema.hasColumn('surveys', 'credited_by')).toBe(false);
    await t.db.migrate.latest({ migrationSource });
    const rows = await t.db('surveys').orderBy('ticket_id').select('ticket_id', 'credited_by');
    expect(rows).toEqual([
      { ticket_id: 'T-old-generic', credited_by: 'payload' },
      { ticket_id: 'Z-1', credited_by: 'assignee' },
    ]);
  });
});
