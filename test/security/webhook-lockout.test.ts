/**
 * Issue 16: "40 webhooks with a wrong signature from one address, then a correctly signed one from
 * the same address: the valid one answers 429 for the rest of the minute." Helpdesks send from
 * shared egress addresses, so a stranger's failures must never cost the helpdesk its webhooks.
 */
import request from 'supertest';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

describe('a stranger failing from the helpdesk\'s address', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({ WEBHOOK_AUTH_FAILURES_PER_MINUTE: '30' });
  });
  afterEach(() => t.close());

  it('when 40 badly signed webhooks came first, then the correctly signed one from the same address is accepted, and the stranger gets 429', async () => {
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push((await t.postWebhook(ticketPayload(), { secret: 'a-stranger-guessing-0123456789' })).status);
    expect(answers.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(answers.slice(30)).toEqual(Array(10).fill(429));
    const valid = await t.postWebhook(ticketPayload({ ticket_id: 'T-victim' }));
    expect([valid.status, valid.body.status]).toEqual([202, 'scheduled']);
    expect(await t.count('surveys')).toBe(1);
  });

  it('when one endpoint collects failures, then another endpoint from the same address answers as usual', async () => {
    for (let i = 0; i < 31; i++) await t.postWebhook(ticketPayload(), { secret: 'a-stranger-guessing-0123456789' });
    const reopen = await request(t.app)
      .post('/webhooks/ticket-reopened')
      .set('Content-Type', 'application/json')
      .set('X-Closeloop-Timestamp', String(Math.floor(Date.now() / 1000)))
      .set('X-Closeloop-Signature', 'sha256=00')
      .send('{"ticket_id":"T-1"}');
    expect(reopen.status).toBe(401);
  });
});
