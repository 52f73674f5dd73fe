import { PUBLIC_URL, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { ratingLinks } from '../helpers/smtp';
import { waitFor } from '../helpers/wait';
import { lastWorkerPass, retryNow } from '../helpers/outbox';

describe('survey email through a real SMTP server', () => {
  let t: MailApp;

  beforeEach(async () => {
    t = await bootWithSmtp({ MAIL_FROM: 'Acme Support <support@acme.test>' });
    t.services.worker.start();
  });
  afterEach(() => t.close());

  it('when a ticket closes, then one email with five rating links to PUBLIC_URL arrives in text and HTML', async () => {
    const res = await t.postWebhook(ticketPayload({ thread_message_id: '<abc@mail.example>' }));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ survey_id: expect.any(String), status: 'scheduled' });

    const [mail] = await t.smtp.waitForMessages(1);
    expect(mail.to).toMatchObject({ value: [{ address: 'ann@example.com', name: 'Ann' }] });
    expect(mail.from?.value[0].address).toBe('support@acme.test');
    expect(mail.subject).toBe('How satisfied were you with the handling of your issue?');
    expect(mail.messageId).toBe(`<survey.${res.body.survey_id}@csat.example.test>`);
    expect(mail.inReplyTo).toBe('<abc@mail.example>');
    expect(mail.references).toBe('<abc@mail.example>');

    const textLinks = ratingLinks(mail);
    expect(textLinks).toHaveLength(5);
    const token = textLinks[0].split('/')[4];
    expect(textLinks).toEqual([1, 2, 3, 4, 5].map((n) => `${PUBLIC_URL}/r/${token}/${n}`));
    for (const link of textLinks) expect(mail.html).toContain(`href="${link}"`);
    expect(mail.text).toContain('1 - Very dissatisfied');
    expect(mail.text).toContain('5 - Very satisfied');
    expect(mail.text).toContain('one click');
    expect(Buffer.byteLength(String(mail.html))).toBeLessThan(100_000);

    await waitFor(async () => (await t.db('surveys').first()).status === 'sent');
    const survey = await t.db('surveys').first();
    expect(survey.sent_at).not.toBeNull();
    expect(await t.db('survey_tokens').where({ survey_id: survey.id }).select('token_hash')).toEqual([
      { token_hash: expect.not.stringContaining(token) },
    ]);
  });

  it('when the SMTP server is down and comes back, then the mail is delivered once', async () => {
    const restartSmtp = await t.stopSmtp();
    const res = await t.postWebhook(ticketPayload());
    expect(res.status).toBe(202);
    await waitFor(async () => (await t.db('outbox').first()).attempts >= 2);
    const pending = await t.db('outbox').first();
    expect(pending.status).toBe('pending');
    expect(pending.last_error).toMatch(/ECONNREFUSED|ECONNECTION/);

    await restartSmtp(); // on the same port
    await retryNow(t.db); // not the backoff, which doubled with every refused attempt meanwhile
    await t.smtp.waitForMessages(1);
    await waitFor(async () => (await t.db('outbox').first()).status === 'sent');
    // Positive control instead of a sleep: a whole worker pass after the row was sent claims nothing, and no send is left in flight.
    expect(await lastWorkerPass(t)).toBe(0);
    expect(t.smtp.messages.map((m) => m.messageId)).toEqual([`<survey.${res.body.survey_id}@csat.example.test>`]);
  });

  it('when the server answers 4xx for a while, then it retries until delivered', async () => {
    t.smtp.state.mode = 'tempfail';
    await t.postWebhook(ticketPayload());
    await waitFor(async () => (await t.db('outbox').first()).attempts >= 2);
    t.smtp.state.mode = 'accept';
    await retryNow(t.db);
    await t.smtp.waitForMessages(1);
    await waitFor(async () => (await t.db('surveys').first()).status === 'sent');
  });

  it('when the server answers 550 for a recipient, then that survey fails with the reason and others still go out', async () => {
    t.smtp.state.rejectRecipients.add('gone@example.com');
    const bad = await t.postWebhook(ticketPayload({ customer: { email: 'gone@example.com' } }));
    await t.postWebhook(ticketPayload());
    await t.smtp.waitForMessages(1);
    await waitFor(async () => (await t.db('surveys').where({ id: bad.body.survey_id }).first()).status === 'failed');
    const failed = await t.db('surveys').where({ id: bad.body.survey_id }).first();
    expect(failed.last_error).toMatch(/550/);
    expect((await t.db('outbox').where({ survey_id: bad.body.survey_id }).first()).attempts).toBe(1);
    expect(t.smtp.messages.map((m) => m.to)).toEqual([expect.objectContaining({ text: expect.stringContaining('ann@example.com') })]);
  });
});
