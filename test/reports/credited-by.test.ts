import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';

describe('credited_by in the per-agent drill-down', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${t.config.reportsToken}`);

  beforeEach(async () => {
    t = await bootApp({ AGENT_CREDIT: 'closer' }, manualClock(new Date('2026-11-25T12:00:00Z')));
  });
  afterEach(() => t.close());

  /** A survey through webhook, delivery and a rating. */
  async function rated(overrides: Record<string, unknown>, score: number) {
    const res = await t.postWebhook(ticketPayload(overrides));
    expect(await t.services.worker.drain()).toBe(1);
    await t.services.ratings.recordRating(await t.services.surveys.issueToken(res.body.survey_id), { score });
  }

  it('when an agent was credited as closer on one ticket and named by the webhook on another, then JSON and HTML show how for each rating', async () => {
    await rated({ ticket_id: 'T-named', agent: { id: 'g-1', name: 'Grace Hopper' } }, 5);
    await rated({ ticket_id: 'T-closed', agent: { id: 'a-7', name: 'Ada' }, closed_by: { id: 'g-1', name: 'Grace Hopper' } }, 4);
    const json = await get('/reports/agents/g-1?from=2026-11-01&to=2026-11-30&format=json');
    expect(json.body.ratings.items.map((r: { ticket_id: string; credited_by: string }) => [r.ticket_id, r.credited_by]).sort()).toEqual([
      ['T-closed', 'closer'],
      ['T-named', 'payload'],
    ]);
    const html = await get('/reports/agents/g-1?from=2026-11-01&to=2026-11-30&format=html');
    expect(html.text).toContain('<th class="text">Credited by</th>');
    expect(html.text).toMatch(/T-closed<\/td>.*<td class="text" data-label="Credited by">closed it<\/td>/);
    expect(html.text).toMatch(/T-named<\/td>.*<td class="text" data-label="Credited by">named by webhook<\/td>/);
  });
});
