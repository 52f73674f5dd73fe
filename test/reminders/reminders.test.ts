import request from 'supertest';
import type { ParsedMail } from 'mailparser';
import { manualClock, ticketPayload, TEST_SECRET } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { ratingLinks } from '../helpers/smtp';
import { signBody } from '../../src/shared/signature';
import { deliverOne } from '../surveys/fixtures';

const HOUR = 3_600_000;

describe('one reminder to a silent customer (REMINDER_AFTER_HOURS, real SMTP)', () => {
  let t: MailApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootWithSmtp({ REMINDER_AFTER_HOURS: '0.5', TOKEN_TTL_DAYS: '2', RATING_HOLD_SECONDS: '5' }, clock);
  });
  afterEach(() => t.close());

  const reminderOf = (surveyId: string) => t.db('reminders').where({ survey_id: surveyId }).first('status', 'reason', 'attempts');
  const reminderMails = () => t.smtp.messages.filter((m) => m.messageId?.startsWith('<reminder.'));
  const unsubscribePath = (mail: ParsedMail) => new URL(/https?:\/\/\S+\/u\/[A-Za-z0-9_-]{43}/.exec(mail.text ?? '')![0]).pathname;
  const signed = (path: string, body: unknown) => {
    const raw = JSON.stringify(body);
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    return request(t.app).post(path).set('Content-Type', 'application/json').set('X-Closeloop-Timestamp', ts).set('X-Closeloop-Signature', signBody(TEST_SECRET, ts, raw)).send(raw);
  };

  it('when nobody rates, then exactly one reminder goes after the time, threaded under the first email, with working links', async () => {
    const { surveyId, mail: first } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'silent@example.com', name: 'Sam' } }));
    expect(await reminderOf(surveyId)).toEqual({ status: 'pending', reason: null, attempts: 0 });

    clock.advance(0.5 * HOUR - 1000);
    expect(await t.services.reminders.drain()).toBe(0); // not due yet
    clock.advance(1000);
    expect(await t.services.reminders.drain()).toBe(1);
    const [reminder] = await t.smtp.waitForMessages(2).then(reminderMails);

    expect(reminder.messageId).toBe(`<reminder.${surveyId}@csat.example.test>`);
    expect(reminder.inReplyTo).toBe(first.messageId);
    expect(reminder.references).toEqual(first.messageId);
    expect(reminder.subject).toBe(first.subject);
    expect(reminder.to).toEqual(first.to);
    expect(reminder.text).toContain('A gentle reminder: we would still like to hear from you.');
    expect(reminder.headers.get('list')).toMatchObject({ unsubscribe: { url: expect.stringMatching(/^https:\/\/csat\.example\.test\/u\//) } });
    const links = ratingLinks(reminder);
    expect(links).toHaveLength(5);
    expect(links).not.toEqual(ratingLinks(first)); // fresh links, same expiry as the first email's
    const page = await request(t.app).get(new URL(links[3]).pathname);
    expect(page.status).toBe(200);

    expect(await reminderOf(surveyId)).toEqual({ status: 'sent', reason: null, attempts: 1 });
    expect((await t.db('surveys').where({ id: surveyId }).first('reminded_at')).reminded_at).not.toBeNull();
    // Never twice: nothing is due any more, however long it waits.
    clock.advance(24 * HOUR);
    expect(await t.services.reminders.drain()).toBe(0);
    expect(reminderMails()).toHaveLength(1);
  });

  it('when two workers look at the same due reminder at once, then one email goes', async () => {
    const { surveyId } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'race@example.com' } }));
    clock.advance(HOUR);
    const handled = await Promise.all([t.services.reminders.drain(), t.services.reminders.drain(), t.services.reminders.drain()]);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(1);
    await t.smtp.waitForMessages(2);
    expect(reminderMails()).toHaveLength(1);
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'sent' });
  });

  it('when the customer rated, unsubscribed, was erased or the ticket reopened, then no reminder goes and each says why', async () => {
    const rated = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'rated@example.com' } }));
    const unsubscribed = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'gone@example.com' } }));
    const erased = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'erase-me@example.com' } }));
    const reopenedTicket = ticketPayload({ customer: { email: 'reopened@example.com' } });
    const reopened = await deliverOne(t, t.smtp, reopenedTicket);

    await t.services.ratings.recordRating(rated.token, { score: 4 });
    await request(t.app).post(unsubscribePath(unsubscribed.mail)).type('form').send('action=unsubscribe').expect(303);
    await request(t.app).delete('/api/customers/erase-me@example.com').set('Authorization', `Bearer ${t.config.adminToken}`).expect(200);
    const res = await signed('/webhooks/ticket-reopened', { ticket_id: reopenedTicket.ticket_id });
    expect(res.body).toMatchObject({ status: 'already_sent' });
    expect(await reminderOf(reopened.surveyId)).toEqual({ status: 'cancelled', reason: 'reopened', attempts: 0 });

    clock.advance(HOUR);
    expect(await t.services.reminders.drain()).toBe(3);
    expect(await reminderOf(rated.surveyId)).toMatchObject({ status: 'cancelled', reason: 'rated' });
    expect(await reminderOf(unsubscribed.surveyId)).toMatchObject({ status: 'cancelled', reason: 'unsubscribed' });
    expect(await reminderOf(erased.surveyId)).toMatchObject({ status: 'cancelled', reason: 'erased' });
    expect(await t.services.worker.drain()).toBe(0); // the positive control below shows a due one would have gone
    expect(reminderMails()).toHaveLength(0);
    const control = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'control@example.com' } }));
    clock.advance(HOUR);
    expect(await t.services.reminders.drain()).toBe(1);
    await t.smtp.waitForMessages(6);
    expect(reminderMails().map((m) => m.messageId)).toEqual([`<reminder.${control.surveyId}@csat.example.test>`]);
  });

  it('when a rating waits in the scanner hold, then the reminder waits for its decision', async () => {
    const { surveyId, token } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'held@example.com' } }));
    clock.advance(HOUR);
    await t.services.ratings.holdRating(token, 2, { visibleMs: 4000, interacted: true });
    expect(await t.services.reminders.drain()).toBe(1);
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'pending' });
    clock.advance(6000);
    await t.services.ratings.decidePending(); // the person's rating counts
    clock.advance(60_000);
    expect(await t.services.reminders.drain()).toBe(1);
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'cancelled', reason: 'rated' });
    expect(reminderMails()).toHaveLength(0);
  });

  it('when the links expired before the reminder could go (the service was down), then it is cancelled as expired', async () => {
    const { surveyId } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'late@example.com' } }));
    clock.advance(48 * HOUR + 1000); // TOKEN_TTL_DAYS = 2
    expect(await t.services.reminders.drain()).toBe(1);
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'cancelled', reason: 'expired' });
    expect(reminderMails()).toHaveLength(0);
  });

  it('when the SMTP server refuses for a while, then the reminder is retried and arrives once', async () => {
    const { surveyId } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'retry@example.com' } }));
    clock.advance(HOUR);
    t.smtp.state.mode = 'tempfail';
    expect(await t.services.reminders.drain()).toBe(1);
    expect(await t.db('reminders').where({ survey_id: surveyId }).first('status', 'attempts', 'last_error')).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringContaining('451') });
    t.smtp.state.mode = 'accept';
    clock.advance(HOUR);
    expect(await t.services.reminders.drain()).toBe(1);
    await t.smtp.waitForMessages(2);
    expect(reminderMails()).toHaveLength(1);
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('when a German customer is reminded, then the reminder is in German; a reply after it counts as a reminder response in the report', async () => {
    const { surveyId } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'de@example.com' }, locale: 'de' }));
    const other = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'first@example.com' } }));
    await t.services.ratings.recordRating(other.token, { score: 5 }); // answers the first email
    clock.advance(HOUR);
    expect(await t.services.reminders.drain()).toBe(2); // one sent, one cancelled (rated)
    const [reminder] = await t.smtp.waitForMessages(3).then(reminderMails);
    expect(reminder.text).toContain('Eine kurze Erinnerung');
    clock.advance(60_000);
    await t.services.ratings.recordRating(new URL(ratingLinks(reminder)[0]).pathname.split('/')[2], { score: 1 });
    const report = await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`);
    expect(report.body.overall).toMatchObject({
      surveys_sent: 2,
      responses: 2,
      reminders_sent: 1,
      responses_to_first_email: 1,
      first_email_response_rate: 50,
      responses_after_reminder: 1,
      reminder_response_rate: 100,
    });
    expect(await reminderOf(surveyId)).toMatchObject({ status: 'sent' });
  });
});

describe('no reminder by default', () => {
  it('when REMINDER_AFTER_HOURS is unset, then a sent survey queues none', async () => {
    const t = await bootWithSmtp({});
    try {
      const { surveyId } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'default@example.com' } }));
      expect(await t.db('reminders').where({ survey_id: surveyId }).first()).toBeUndefined();
      expect(await t.db('surveys').where({ id: surveyId }).first('status')).toEqual({ status: 'sent' }); // the control: it was sent
    } finally {
      await t.close();
    }
  });
});
