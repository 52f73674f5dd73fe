/**
 * Issue 16: failed credentials on /reports, /api, /preview and /metrics were not limited, and
 * /metrics was open in production unless METRICS_TOKEN was set.
 */
import request from 'supertest';
import { bootApp, type TestApp } from '../helpers/boot';

describe('refused credentials on the reports, admin, preview and metrics routes', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('when one address keeps guessing the reports token, then after the limit it gets 429, while the right token from the same address still works', async () => {
    t = await bootApp({ WEBHOOK_AUTH_FAILURES_PER_MINUTE: '5', METRICS_TOKEN: 'metrics-token-0123456789' });
    const guess = (path: string) => request(t!.app).get(path).auth('lead', 'a-guess-0123456789abcdef');
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await guess('/reports/agents?format=json')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect((await guess('/reports/trend?format=json')).status).toBe(429); // the whole area, not one path
    await request(t.app).get('/reports/agents?format=json').auth('lead', t.config.reportsToken).expect(200);
    // Other areas keep their own count.
    expect((await request(t.app).get('/api/surveys').set('Authorization', 'Bearer a-guess-0123456789abcdef')).status).toBe(401);
    for (let i = 0; i < 5; i++) await request(t.app).get('/metrics').set('Authorization', 'Bearer nope-0123456789abcdef');
    expect((await request(t.app).get('/metrics').set('Authorization', 'Bearer nope-0123456789abcdef')).status).toBe(429);
    await request(t.app).get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789').expect(200);
  });

  it('when NODE_ENV=production and METRICS_TOKEN is unset, then /metrics is not served; with it, only behind it', async () => {
    const production = { NODE_ENV: 'production', REPORTS_TOKEN: 'reports-token-0123456789', ADMIN_TOKEN: 'admin-token-0123456789ab', PRIVACY_KEY: 'privacy-key-0123456789abcdef0123456789' };
    t = await bootApp(production);
    expect((await request(t.app).get('/metrics')).status).toBe(404);
    await t.close();
    t = await bootApp({ ...production, METRICS_TOKEN: 'metrics-token-0123456789' });
    expect((await request(t.app).get('/metrics')).status).toBe(401);
    await request(t.app).get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789').expect(200);
  });
});
