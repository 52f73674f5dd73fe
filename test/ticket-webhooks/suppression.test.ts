import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { waitFor } from '../helpers/wait';

describe('POST /webhooks/ticket-closed when the customer is the agent', () => {
  let smtp: SmtpTestServer;
  let t: TestApp;

  beforeEach(async () => {
    smtp = await startSmtpServer();
    t = await bootApp({ SMTP_URL: smtp.url });
    t.services.worker.start();
  });
  afterEach(async () => {
    await t.close();
    await smtp.close();
  });

  const agent = { id: 'a-7', name: 'Ada Lovelace', email: 'ada@support.example' };

  it.each([
    ['identical', 'ada@support.example'],
    ['differently cased', 'ADA@Support.Example'],
    ['padded with spaces', '  ada@support.example '],
  ])('when the customer email is the agent email (%s), then 200 suppressed, a suppressed row, no outbox row and no email', async (_case, email) => {
    const res = await t.postWebhook(ticketPayload({ ticket_id: 'T-self', customer: { email }, agent }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ survey_id: expect.any(String), status: 'suppressed', reason: 'customer_is_agent' });

    const row = await t.db('surveys').where({ id: res.body.survey_id }).first();
    expect(row).toMatchObject({ ticket_id: 'T-self', status: 'suppressed', suppression_reason: 'customer_is_agent', agent_id: 'a-7' });
    expect(await t.count('outbox')).toBe(0);

    // A normal ticket afterwards proves the worker and SMTP are live, so "no mail" means something.
    const control = await t.postWebhook(ticketPayload({ customer: { email: 'ann@example.com' } }));
    expect(control.status).toBe(202);
    await smtp.waitForMessages(1);
    await waitFor(async () => (await t.db('surveys').where({ id: control.body.survey_id }).first()).status === 'sent');
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages.map((m) => m.messageId)).toEqual([`<survey.${control.body.survey_id}@csat.example.test>`]);
  });

  it('when a suppressed ticket is delivered again, then 200 duplicate with the same survey_id', async () => {
    const payload = ticketPayload({ customer: { email: 'ada@support.example' }, agent });
    const timestamp = Math.floor(Date.now() / 1000);
    const first = await t.postWebhook(payload, { timestamp });
    const again = await t.postWebhook(payload, { timestamp: timestamp + 1 }); // signed afresh (an identical request would be a replay)
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ survey_id: first.body.survey_id, status: 'duplicate' });
    expect(await t.count('surveys')).toBe(1);
  });

  it('when the agent has no email, then the survey is scheduled normally', async () => {
    const res = await t.postWebhook(ticketPayload({ customer: { email: 'ada@support.example' }, agent: { id: 'a-7' } }));
    expect(res.status).toBe(202);
    expect(await t.count('outbox')).toBe(1);
  });
});
