import request from 'supertest';
import { bootApp, type TestApp } from '../helpers/boot';
import { HELPDESK_SECRETS } from '../helpers/helpdesks';

const ENDPOINTS = ['/webhooks/ticket-closed', '/webhooks/ticket-reopened', '/webhooks/zendesk', '/webhooks/helpscout', '/webhooks/freshdesk', '/webhooks/intercom'];
const SECRETS = HELPDESK_SECRETS;

/** Helpdesks check a webhook URL before they save it: Intercom with HEAD, others with GET. */
describe.each([
  ['every adapter configured', SECRETS],
  ['no adapter configured', {}],
])('GET and HEAD of the webhook endpoints (%s)', (_case, env) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp(env);
  });
  afterAll(() => t.close());

  it.each(ENDPOINTS)('when %s is checked with HEAD or GET, then 200, a body naming only the endpoint, and nothing stored', async (endpoint) => {
    const head = await request(t.app).head(endpoint);
    expect(head.status).toBe(200);
    expect(head.text ?? '').toBe('');

    const get = await request(t.app).get(endpoint);
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toMatch(/^application\/json/);
    expect(get.body).toEqual({ endpoint, accepts: 'POST' }); // the same whether or not the adapter is configured

    expect([await t.count('surveys'), await t.count('outbox'), await t.count('webhook_receipts')]).toEqual([0, 0, 0]);
    // A URL check is not a webhook: closeloop_webhooks_total does not count it.
    expect((await request(t.app).get('/metrics')).text).not.toMatch(/^closeloop_webhooks_total\{/m);
  });

  it('when a POST follows, then it is handled as before (positive control: the GET route does not shadow it)', async () => {
    const res = await request(t.app).post('/webhooks/intercom').set('Content-Type', 'application/json').send('{}');
    expect(res.status).toBe('INTERCOM_CLIENT_SECRET' in env ? 401 : 404);
  });
});
