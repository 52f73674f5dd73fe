/**
 * Rotating a secret without downtime (README "Security model"): while *_PREVIOUS holds the old
 * value, both work; once it is unset, only the new one does.
 */
import request from 'supertest';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

const OLD = { webhook: 'old-webhook-secret-0123456789', reports: 'old-reports-token-0123456789', admin: 'old-admin-token-0123456789ab' };
const NEW = { webhook: 'new-webhook-secret-0123456789', reports: 'new-reports-token-0123456789', admin: 'new-admin-token-0123456789ab' };

describe('rotating the webhook secret, the reports token and the admin token', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const tryAll = async (app: TestApp, creds: typeof OLD) => [
    (await app.postWebhook(ticketPayload(), { secret: creds.webhook })).status,
    (await request(app.app).get('/reports/agents?format=json').auth('lead', creds.reports)).status,
    (await request(app.app).get('/api/surveys').set('Authorization', `Bearer ${creds.admin}`)).status,
  ];

  it('when the old values are set as *_PREVIOUS beside the new ones, then both work; without them, only the new ones', async () => {
    t = await bootApp({
      WEBHOOK_SECRET: NEW.webhook,
      REPORTS_TOKEN: NEW.reports,
      ADMIN_TOKEN: NEW.admin,
      WEBHOOK_SECRET_PREVIOUS: OLD.webhook,
      REPORTS_TOKEN_PREVIOUS: OLD.reports,
      ADMIN_TOKEN_PREVIOUS: OLD.admin,
    });
    expect(await tryAll(t, OLD)).toEqual([202, 200, 200]);
    expect(await tryAll(t, NEW)).toEqual([202, 200, 200]);
    await t.close();
    t = await bootApp({ WEBHOOK_SECRET: NEW.webhook, REPORTS_TOKEN: NEW.reports, ADMIN_TOKEN: NEW.admin });
    expect(await tryAll(t, OLD)).toEqual([401, 401, 401]);
    expect(await tryAll(t, NEW)).toEqual([202, 200, 200]);
  });
});
