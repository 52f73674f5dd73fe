import { ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { lastWorkerPass } from '../helpers/outbox';
import { waitFor } from '../helpers/wait';

describe('POST /webhooks/ticket-closed idempotency, with a real SMTP server', () => {
  let t: MailApp;

  beforeEach(async () => {
    t = await bootWithSmtp();
    t.services.worker.start();
  });
  afterEach(() => t.close());

  it('when 20 identical webhooks arrive at once, then all twenty get the same 202 and survey_id, one row each and one email', async () => {
    const payload = ticketPayload();
    const timestamp = Math.floor(Date.now() / 1000); // one signed request, delivered 20 times
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.postWebhook(payload, { timestamp })));

    const surveyId = responses[0].body.survey_id;
    for (const r of responses) expect([r.status, r.body]).toEqual([202, { survey_id: surveyId, status: 'scheduled' }]);
    expect(await t.count('surveys')).toBe(1);
    expect(await t.count('outbox')).toBe(1);
    expect(await t.count('webhook_receipts')).toBe(1);
    await oneEmail(surveyId);
  });

  it('when 20 deliveries of one ticket, each signed afresh, arrive at once, then one 202, nineteen duplicates with the same survey_id, one row each and one email', async () => {
    const payload = ticketPayload();
    const now = Math.floor(Date.now() / 1000);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => t.postWebhook(payload, { timestamp: now - i })));

    const scheduled = responses.filter((r) => r.status === 202);
    const duplicates = responses.filter((r) => r.status === 200);
    expect(scheduled).toHaveLength(1);
    expect(duplicates).toHaveLength(19);
    const surveyId = scheduled[0].body.survey_id;
    expect(scheduled[0].body).toEqual({ survey_id: surveyId, status: 'scheduled' });
    for (const d of duplicates) expect(d.body).toEqual({ survey_id: surveyId, status: 'duplicate' });

    expect(await t.count('surveys')).toBe(1);
    expect(await t.count('outbox')).toBe(1);
    await oneEmail(surveyId);
  });

  async function oneEmail(surveyId: string) {
    const [mail] = await t.smtp.waitForMessages(1);
    expect(mail.messageId).toBe(`<survey.${surveyId}@csat.example.test>`);
    await waitFor(async () => (await t.db('outbox').first()).status === 'sent');
    // Positive control instead of a sleep: a whole worker pass after the send claims nothing, and no second send is in flight.
    expect(await lastWorkerPass(t)).toBe(0);
    expect(t.smtp.messages).toHaveLength(1);
    expect(await t.count('survey_tokens')).toBe(1);
  }

  it('when the same ticket arrives again later with different details, then 200 duplicate and the first version is kept', async () => {
    const first = await t.postWebhook(ticketPayload({ ticket_id: 'T-again', subject: 'First' }));
    expect(first.status).toBe(202);
    await t.smtp.waitForMessages(1);

    const again = await t.postWebhook(ticketPayload({ ticket_id: 'T-again', subject: 'Second', customer: { email: 'bob@example.com' } }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ survey_id: first.body.survey_id, status: 'duplicate' });

    const rows = await t.db('surveys').select('subject', 'customer_email');
    expect(rows).toEqual([{ subject: 'First', customer_email: 'ann@example.com' }]);
    expect(await t.count('outbox')).toBe(1);
    expect(await lastWorkerPass(t)).toBe(0); // the one row is sent, and a later pass takes nothing up
    expect(t.smtp.messages).toHaveLength(1);
  });

  it('when 10 different tickets arrive at once, then each gets its own survey and email', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => t.postWebhook(ticketPayload())));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(new Set(responses.map((r) => r.body.survey_id)).size).toBe(10);
    expect(await t.count('surveys')).toBe(10);
    expect(await t.count('outbox')).toBe(10);
    await t.smtp.waitForMessages(10);
    expect(await lastWorkerPass(t)).toBe(0); // all ten rows are sent, and a later pass takes none up again
    expect(t.smtp.messages).toHaveLength(10);
    expect(new Set(t.smtp.messages.map((m) => m.messageId)).size).toBe(10);
  });
});
