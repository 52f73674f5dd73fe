import { ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { lastWorkerPass } from '../helpers/outbox';
import { waitFor } from '../helpers/wait';

describe('POST /webhooks/ticket-closed when the customer is the agent', () => {
  let t: MailApp;

  beforeEach(async () => {
    t = await bootWithSmtp();
    t.services.worker.start();
  });
  afterEach(() => t.close());

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
    await t.smtp.waitForMessages(1);
    await waitFor(async () => (await t.db('surveys').where({ id: control.body.survey_id }).first()).status === 'sent');
    // Instead of a sleep: the worker sends outbox rows only, the control's is the only one, and a whole pass after it was sent takes nothing up.
    expect(await t.db('outbox').pluck('survey_id')).toEqual([control.body.survey_id]);
    expect(await lastWorkerPass(t)).toBe(0);
    expect(t.smtp.messages.map((m) => m.messageId)).toEqual([`<survey.${control.body.survey_id}@csat.example.test>`]);
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
