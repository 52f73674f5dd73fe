/**
 * Issue 16: with nothing configured, the three strings the README printed opened the service
 * (every customer's email and comment at /api/surveys, the reports, webhooks that send branded
 * email to any address). Now an install's unset secrets are its own; those strings open nothing.
 */
import request from 'supertest';
import { PUBLISHED_EXAMPLES } from '../../src/credentials';
import { signBody } from '../../src/shared/signature';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

const [webhookSecret, reportsToken, adminToken] = PUBLISHED_EXAMPLES;

describe('an install nobody configured, tried with the published credentials', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({ WEBHOOK_SECRET: '', REPORTS_TOKEN: '', ADMIN_TOKEN: '' });
  });
  afterEach(() => t.close());

  it('when the admin API, the reports and a webhook are tried with them, then each is refused and nothing is stored', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-control' }), { secret: t.config.webhookSecret }).expect(202); // positive control
    const api = await request(t.app).get('/api/surveys').set('Authorization', `Bearer ${adminToken}`);
    const erase = await request(t.app).delete('/api/customers/ann@example.com').set('Authorization', `Bearer ${adminToken}`);
    const reports = await request(t.app).get('/reports/agents?format=json').auth('lead', reportsToken);
    const hook = await t.postWebhook(ticketPayload({ ticket_id: 'T-attacker', customer: { email: 'victim@example.com' } }), { secret: webhookSecret });
    expect([api.status, erase.status, reports.status, hook.status]).toEqual([401, 401, 401, 401]);
    expect(await t.count('surveys')).toBe(1);
    // The install's own credentials work.
    await request(t.app).get('/api/surveys').set('Authorization', `Bearer ${t.config.adminToken}`).expect(200);
    await request(t.app).get('/reports/agents?format=json').auth('lead', t.config.reportsToken).expect(200);
    expect(signBody(webhookSecret, '1', '{}')).not.toBe(signBody(t.config.webhookSecret, '1', '{}'));
  });
});
