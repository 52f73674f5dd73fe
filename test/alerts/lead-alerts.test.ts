import request from 'supertest';
import type { ParsedMail } from 'mailparser';
import { manualClock, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { deliverOne, tempDir, validWith } from '../surveys/fixtures';
import { parseDefinitions, leadsFor } from '../../src/surveys/definitions';

const LEADS = ['teams:', '  billing:', '    leads: [ana@leads.example, ben@leads.example]', 'default_leads: [desk@leads.example]'];
const MINUTE = 60_000;

describe('email alerts to team leads on low ratings (real SMTP)', () => {
  const tmp = tempDir();
  let t: MailApp;
  let clock: ReturnType<typeof manualClock>;
  const boot = async (env: Record<string, string> = {}, leads = LEADS) => {
    t = await bootWithSmtp({ SURVEYS_FILE: tmp.write('surveys.yml', validWith({}, leads)), MAIL_FROM: 'Closeloop <surveys@closeloop.test>', TOKEN_TTL_DAYS: '30', ...env }, clock);
  };
  beforeEach(() => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
  });
  afterEach(() => t.close());
  afterAll(() => tmp.cleanup());

  const alertMails = () => t.smtp.messages.filter((m) => m.messageId?.startsWith('<alert.'));
  const to = (m: ParsedMail) => (Array.isArray(m.to) ? m.to : [m.to]).flatMap((a) => a!.value.map((v) => v.address));
  /** A sent survey of `team`, rated by its customer through the real rating service. */
  const rated = async (team: string, input: { score: number; comment?: string }, subject = 'Refund for order 42') => {
    const delivered = await deliverOne(t, t.smtp, ticketPayload({ team, subject, customer: { email: `c${Math.random().toString(36).slice(2)}@example.com` } }));
    await t.services.ratings.recordRating(delivered.token, input);
    return delivered;
  };

  it('when a customer rates 1 with a comment, then the team\'s leads get one email saying who, what and where to follow up; a 5 alerts nobody', async () => {
    await boot();
    const low = await rated('billing', { score: 1, comment: 'Nobody answered my question.' });
    await rated('billing', { score: 5 });
    expect(await t.services.leadAlerts.drain()).toBe(2); // one email per lead
    const mails = await t.smtp.waitForMessages(4).then(alertMails);
    const { id: followupId } = await t.db('followups').where({ survey_id: low.surveyId }).first('id');

    expect(mails.map(to).sort()).toEqual([['ana@leads.example'], ['ben@leads.example']]);
    const mail = mails.find((m) => to(m)[0] === 'ana@leads.example')!;
    expect(mail.from?.value).toEqual([{ name: 'Closeloop', address: 'surveys@closeloop.test' }]);
    expect(mail.subject).toBe('Low rating 1/5 for Ada Lovelace on ticket ' + (await t.db('surveys').where({ id: low.surveyId }).first('ticket_id')).ticket_id);
    for (const part of [mail.text!, String(mail.html)]) {
      expect(part).toContain('Ada Lovelace');
      expect(part).toContain('Refund for order 42');
      expect(part).toContain('Nobody answered my question.');
      expect(part).toContain('handling'); // the question
      expect(part).toContain(`https://csat.example.test/followups#f${followupId}`);
    }
    const ids = await t.db('lead_alerts').orderBy('id').pluck('id');
    expect(mails.map((m) => m.messageId).sort()).toEqual(ids.map((id) => `<alert.${low.surveyId}.${id}@closeloop.test>`).sort());
    expect(mails[1].text).toBe(mails[0].text); // the same alert to each lead

    // A comment added later updates the follow-up; it never alerts again.
    await t.services.ratings.recordRating(low.token, { comment: 'Still waiting.' });
    await t.services.ratings.recordRating(low.token, { score: 2 });
    expect(await t.services.leadAlerts.drain()).toBe(0);
    expect(alertMails()).toHaveLength(2);
    expect(await t.db('lead_alerts').orderBy('id').select('recipient', 'status')).toEqual([
      { recipient: 'ana@leads.example', status: 'sent' },
      { recipient: 'ben@leads.example', status: 'sent' },
    ]);
  });

  it('when the ticket\'s team has no leads of its own, then default_leads get it; with no leads configured at all, nothing is queued', async () => {
    await boot();
    await rated('returns', { score: 2 });
    expect(await t.services.leadAlerts.drain()).toBe(1);
    const [mail] = await t.smtp.waitForMessages(2).then(alertMails);
    expect(to(mail)).toEqual(['desk@leads.example']);
    await t.close();

    await boot({}, []);
    await rated('billing', { score: 1 });
    expect(await t.db('followups').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]); // the follow-up opened
    expect(await t.db('lead_alerts').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('when ALERT_DIGEST_MINUTES is 10, then a team\'s low ratings of those minutes arrive as one email, and other teams\' apart', async () => {
    await boot({ ALERT_DIGEST_MINUTES: '10' });
    await rated('billing', { score: 1, comment: 'First complaint' }, 'Ticket one');
    clock.advance(3 * MINUTE);
    await rated('billing', { score: 2 }, 'Ticket two');
    await rated('returns', { score: 1 }, 'Ticket three');
    clock.advance(3 * MINUTE);
    await rated('billing', { score: 1 }, 'Ticket four');
    expect(await t.services.leadAlerts.drain()).toBe(0); // the window is still open
    clock.advance(4 * MINUTE);
    expect(await t.services.leadAlerts.drain()).toBe(2); // billing's window closed (an email to each lead); returns' (opened 3 minutes later) not yet
    clock.advance(3 * MINUTE);
    expect(await t.services.leadAlerts.drain()).toBe(1);
    const mails = await t.smtp.waitForMessages(7).then(alertMails);
    expect(mails.map((m) => [m.subject, to(m)]).sort()).toEqual([
      ['3 low ratings in billing', ['ana@leads.example']],
      ['3 low ratings in billing', ['ben@leads.example']],
      [expect.stringMatching(/^Low rating 1\/5 for Ada Lovelace on ticket /), ['desk@leads.example']],
    ]);
    const digest = mails.find((m) => m.subject === '3 low ratings in billing')!;
    for (const subject of ['Ticket one', 'Ticket two', 'Ticket four', 'First complaint']) expect(digest.text).toContain(subject);
    expect(digest.text).not.toContain('Ticket three');
    expect(await t.db('lead_alerts').where({ status: 'sent' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 7 }]);
    expect(await t.services.leadAlerts.drain()).toBe(0);
  });

  it('when the SMTP server refuses for a while, then the alert is retried and arrives once; a permanent refusal fails it', async () => {
    await boot({ DELIVERY_RETRY_BASE_SECONDS: '1' });
    await rated('returns', { score: 1 }); // one lead: desk
    t.smtp.state.mode = 'tempfail';
    expect(await t.services.leadAlerts.drain()).toBe(1);
    expect(await t.db('lead_alerts').first('status', 'attempts', 'last_error')).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringContaining('451') });
    t.smtp.state.mode = 'accept';
    clock.advance(MINUTE);
    expect(await t.services.leadAlerts.drain()).toBe(1);
    await t.smtp.waitForMessages(2);
    expect(alertMails()).toHaveLength(1);

    await rated('returns', { score: 1 });
    t.smtp.state.mode = 'permfail';
    expect(await t.services.leadAlerts.drain()).toBe(1);
    expect(await t.db('lead_alerts').orderBy('id').pluck('status')).toEqual(['sent', 'failed']);
    expect(alertMails()).toHaveLength(1);
  });

  it('when the relay refuses one lead\'s address, then that lead\'s alert fails with the reply and the other lead gets it once', async () => {
    await boot();
    t.smtp.state.rejectRecipients.add('ben@leads.example');
    await rated('billing', { score: 1 });
    expect(await t.services.leadAlerts.drain()).toBe(2);
    const mails = await t.smtp.waitForMessages(2).then(alertMails);
    expect(mails.map(to)).toEqual([['ana@leads.example']]);
    expect(await t.db('lead_alerts').orderBy('recipient').select('recipient', 'status', 'last_error')).toEqual([
      { recipient: 'ana@leads.example', status: 'sent', last_error: null },
      { recipient: 'ben@leads.example', status: 'failed', last_error: expect.stringContaining('550') },
    ]);
    expect(await t.services.leadAlerts.drain()).toBe(0);
  });

  it('when several workers look at the same due alert at once, then one email goes', async () => {
    await boot();
    await rated('returns', { score: 1 });
    const handled = await Promise.all([t.services.leadAlerts.drain(), t.services.leadAlerts.drain(), t.services.leadAlerts.drain()]);
    expect(handled.reduce((a, b) => a + b, 0)).toBe(1);
    await t.smtp.waitForMessages(2);
    expect(alertMails()).toHaveLength(1);
  });

  it('when the customer is erased before the alert goes, then it goes without their comment and ticket subject', async () => {
    await boot({ ALERT_DIGEST_MINUTES: '5' });
    const low = await rated('returns', { score: 1, comment: 'My card number is in this ticket' }, 'Secret subject');
    const { customer_email: email } = await t.db('surveys').where({ id: low.surveyId }).first('customer_email');
    await request(t.app).delete(`/api/customers/${email}`).set('Authorization', `Bearer ${t.config.adminToken}`).expect(200);
    clock.advance(5 * MINUTE);
    expect(await t.services.leadAlerts.drain()).toBe(1);
    const [mail] = await t.smtp.waitForMessages(2).then(alertMails);
    expect(mail.text).toContain('Low rating 1/5 (the customer\'s data was erased)');
    for (const part of [mail.text!, String(mail.html), mail.subject!]) {
      expect(part).not.toContain('My card number');
      expect(part).not.toContain('Secret subject');
    }
  });
});

describe('the leads in the definitions file', () => {
  const file = (extra: string[]) => parseDefinitions(validWith({}, extra));

  it('when a team lists its leads, then they get its alerts; other teams and no team go to default_leads, or nobody', () => {
    const d = file(LEADS);
    expect(leadsFor(d, 'billing')).toEqual({ key: 'billing', recipients: ['ana@leads.example', 'ben@leads.example'] });
    expect(leadsFor(d, 'returns')).toEqual({ key: '*', recipients: ['desk@leads.example'] });
    expect(leadsFor(d, null)).toEqual({ key: '*', recipients: ['desk@leads.example'] });
    expect(leadsFor(d, 'toString')).toEqual({ key: '*', recipients: ['desk@leads.example'] }); // not an inherited property
    expect(leadsFor(file([]), 'billing')).toBeNull();
  });

  it('when a lead is not an email address or a team lists none, then the file is refused naming the line', () => {
    expect(() => file(['teams:', '  billing:', '    leads: [not-an-address]'])).toThrow(/teams\.billing\.leads\.0: must be an email address/);
    expect(() => file(['teams:', '  billing:', '    leads: []'])).toThrow(/teams\.billing\.leads: must list at least one address/);
    expect(() => file(['teams:', '  billing:', '    lead: [a@b.example]'])).toThrow(/teams\.billing\.lead/);
  });
});
