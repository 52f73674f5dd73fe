import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { bootApp, manualClock, PUBLIC_URL, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { claimDueOutboxRows, markRetry } from '../../src/delivery/repository';
import { retryDelayMs } from '../../src/shared/backoff';
import { classify } from '../../src/delivery/mailer';

describe('outbox worker', () => {
  let t: MailApp;
  const clock = manualClock(new Date('2026-11-20T10:00:00Z'));

  beforeEach(async () => {
    t = await bootWithSmtp({ DELIVERY_LEASE_SECONDS: '60' }, clock);
  });
  afterEach(() => t.close());

  it('when a worker claimed a row and died before marking it, then after the lease it is sent with the same Message-ID', async () => {
    const res = await t.postWebhook(ticketPayload());
    // A worker that claimed the row and then crashed: the row stays leased.
    const claimed = await claimDueOutboxRows(t.db, clock.now(), new Date(clock.now().getTime() + 60_000), 10);
    expect(claimed).toHaveLength(1);

    expect(await t.services.worker.drain()).toBe(0);
    expect(t.smtp.messages).toHaveLength(0);

    clock.advance(61_000);
    expect(await t.services.worker.drain()).toBe(1);
    const [mail] = await t.smtp.waitForMessages(1);
    expect(mail.messageId).toBe(`<survey.${res.body.survey_id}@csat.example.test>`);
    const row = await t.db('outbox').first();
    expect(row).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('when a retry is marked late, after the lease ran out and another claim took the row, then it leaves that claim alone', async () => {
    await t.postWebhook(ticketPayload());
    const [first] = await claimDueOutboxRows(t.db, clock.now(), new Date(clock.now().getTime() + 60_000), 10);
    clock.advance(61_000);
    const [second] = await claimDueOutboxRows(t.db, clock.now(), new Date(clock.now().getTime() + 60_000), 10);
    expect(second.id).toBe(first.id);

    // The first claim's send failed long ago; its retry arrives only now (it waited for the database).
    await markRetry(t.db, first, clock.now(), '451 try later', clock.now());
    expect(await t.db('outbox').first('locked_until', 'last_error')).toEqual({ locked_until: expect.anything(), last_error: null });
    expect(await claimDueOutboxRows(t.db, clock.now(), new Date(clock.now().getTime() + 60_000), 10)).toEqual([]); // still leased: not sent twice

    await markRetry(t.db, second, clock.now(), '451 try later', clock.now()); // the owner's own retry frees it
    expect(await t.db('outbox').first('locked_until', 'last_error')).toEqual({ locked_until: null, last_error: '451 try later' });
  });

  it('when SURVEY_DELAY_MINUTES is set, then the email waits until it is due', async () => {
    await t.close();
    t = await bootWithSmtp({ SURVEY_DELAY_MINUTES: '30' }, clock);
    await t.postWebhook(ticketPayload());
    expect(await t.services.worker.drain()).toBe(0);
    clock.advance(30 * 60_000);
    expect(await t.services.worker.drain()).toBe(1);
    await t.smtp.waitForMessages(1);
  });

  it('when temporary failures exhaust DELIVERY_MAX_ATTEMPTS, then the survey ends failed with the last error', async () => {
    await t.close();
    t = await bootWithSmtp({ DELIVERY_MAX_ATTEMPTS: '3' }, clock);
    t.smtp.state.mode = 'tempfail';
    const res = await t.postWebhook(ticketPayload());
    for (let i = 0; i < 3; i += 1) {
      await t.services.worker.drain();
      clock.advance(3_600_000);
    }
    const survey = await t.db('surveys').where({ id: res.body.survey_id }).first();
    expect(survey.status).toBe('failed');
    expect(survey.last_error).toMatch(/451/);
    expect(await t.db('outbox').first()).toMatchObject({ status: 'failed', attempts: 3 });
  });
});

describe('without SMTP_URL', () => {
  it('when a survey is sent, then it is written as an .eml file in MAIL_DIR with the rating links', async () => {
    const t = await bootApp();
    try {
      await t.postWebhook(ticketPayload());
      expect(await t.services.worker.drain()).toBe(1);
      const files = fs.readdirSync(t.config.mailDir).filter((f) => f.endsWith('.eml'));
      expect(files).toHaveLength(1);
      const mail = await simpleParser(fs.readFileSync(path.join(t.config.mailDir, files[0])));
      expect(mail.to).toMatchObject({ text: expect.stringContaining('ann@example.com') });
      expect(mail.text).toContain(`${PUBLIC_URL}/r/`);
      expect((await t.db('surveys').first()).status).toBe('sent');
    } finally {
      await t.close();
    }
  });
});

describe('delivery policy', () => {
  it('when attempts grow, then the delay doubles within 50-100 % jitter and stops at six hours', () => {
    expect(retryDelayMs(1, 30, () => 0)).toBe(15_000);
    expect(retryDelayMs(1, 30, () => 1)).toBe(30_000);
    expect(retryDelayMs(3, 30, () => 1)).toBe(120_000);
    expect(retryDelayMs(30, 30, () => 1)).toBe(6 * 3600_000);
  });

  it.each([
    [{ code: 'ECONNECTION', message: 'connect ECONNREFUSED' }, true],
    [{ code: 'EENVELOPE', responseCode: 451, response: '451 try later' }, true],
    [{ code: 'EENVELOPE', responseCode: 550, response: '550 no such user' }, false],
    [{ code: 'ENOSPC', message: 'no space left on device' }, true],
  ])('when the transport fails with %p, then temporary is %p', (err, temporary) => {
    expect(classify(err).temporary).toBe(temporary);
  });
});
