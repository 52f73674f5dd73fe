import { Writable } from 'node:stream';
import request from 'supertest';
import { manualClock, TEST_SECRET, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { tableNames } from '../helpers/database';
import { createDeliveryWorker } from '../../src/delivery/worker';
import { createMailer } from '../../src/delivery/mailer';
import { createLogger } from '../../src/shared/logger';
import { rebuildStats } from '../../src/surveys/counters/rebuild';
import { signBody } from '../../src/shared/signature';

/** Log lines as written, to check what a lost claim says (and that it names no customer). */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', stream), lines };
}

/**
 * Two delivery workers on one database, as two instances would be (each with its own SMTP pool),
 * and an SMTP server that holds a send for as long as the test wants: the clock, not time, runs
 * the lease out.
 */
describe('outbox claims: every transition holds the claim it was made under', () => {
  const clock = manualClock(new Date('2026-11-20T10:00:00Z'));
  let t: MailApp;
  let logs: string[];
  let other: { drain(): Promise<number>; close(): void };

  beforeEach(async () => {
    clock.set(new Date('2026-11-20T10:00:00Z'));
    const captured = capturedLogger();
    logs = captured.lines;
    t = await bootWithSmtp({ DELIVERY_LEASE_SECONDS: '60' }, clock, { logger: captured.logger });
    const mailer = createMailer({ smtpUrl: t.config.smtpUrl, mailDir: t.config.mailDir });
    const worker = createDeliveryWorker({
      ...t.services,
      logger: captured.logger,
      mailer,
      publicUrl: t.config.publicUrl,
      mailFrom: t.config.mailFrom,
      options: t.config.delivery,
    });
    other = { drain: worker.drain, close: () => mailer.close() };
  });
  afterEach(async () => {
    other.close();
    await t.close();
  });

  const outboxRow = () => t.db('outbox').first('status', 'attempts', 'locked_until', 'last_error');
  const surveyRow = () => t.db('surveys').first('status', 'last_error', 'customer_email');
  const lostClaims = async () =>
    (await t.services.metrics.lostClaims.get()).values.filter((v) => v.value > 0).map((v) => ({ ...v.labels, n: v.value }));

  /** The report counters as kept, and as a rebuild from the surveys table computes them. */
  async function countersAndRebuild() {
    const read = async () => JSON.stringify((await t.db('agent_day_stats').select('*')).map((r) => JSON.stringify(r)).sort());
    const kept = await read();
    await rebuildStats(t.db, t.config.reportTz);
    return [kept, await read()];
  }

  /** No worker claims the row again, however long we wait. */
  async function noFurtherClaim() {
    clock.advance(24 * 3600_000);
    expect(await t.services.worker.drain()).toBe(0);
    expect(await other.drain()).toBe(0);
  }

  const reopen = (ticketId: string) => {
    const raw = JSON.stringify({ ticket_id: ticketId });
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    return request(t.app)
      .post('/webhooks/ticket-reopened')
      .set('Content-Type', 'application/json')
      .set('X-Closeloop-Timestamp', ts)
      .set('X-Closeloop-Signature', signBody(TEST_SECRET, ts, raw))
      .send(raw);
  };

  it.each([
    ['tempfail', 'retry'],
    ['permfail', 'failed'],
    ['accept', 'sent'],
  ] as const)(
    'when a send outlives its lease and another worker claims and sends the row, then the late answer (%s) changes nothing: one sent, no further claim',
    async (late, transition) => {
      await t.postWebhook(ticketPayload());
      const held = t.smtp.hold();
      const first = t.services.worker.drain();
      await held.reached;
      clock.advance(61_000); // the lease (60 s) ran out while the server was slow

      expect(await other.drain()).toBe(1);
      expect(await outboxRow()).toMatchObject({ status: 'sent', attempts: 2 });
      expect(await lostClaims()).toEqual([]);

      held.answer(late);
      expect(await first).toBe(1);
      expect(await outboxRow()).toEqual({ status: 'sent', attempts: 2, locked_until: null, last_error: null });
      expect(await surveyRow()).toMatchObject({ status: 'sent', last_error: null });
      expect(await lostClaims()).toEqual([{ outbox: 'email', transition, n: 1 }]);
      // A late send the server accepted did go out: the known rare duplicate, with the same Message-ID.
      expect(t.smtp.messages.map((m) => m.messageId)).toHaveLength(late === 'accept' ? 2 : 1);
      expect(new Set(t.smtp.messages.map((m) => m.messageId)).size).toBe(1);
      await noFurtherClaim();
      expect((await outboxRow()).attempts).toBe(2);

      const [kept, rebuilt] = await countersAndRebuild();
      expect(kept).toEqual(rebuilt);
      const lost = logs.filter((l) => l.includes('no longer held by this claim'));
      expect(lost).toHaveLength(1);
      expect(JSON.parse(lost[0])).toMatchObject({ transition, attempt: 1, surveyId: expect.any(String) });
      expect(logs.join('')).not.toMatch(/ann@example\.com|Refund for order 42/);
    },
  );

  it('when a reopen cancels a row whose lease ran out mid-send, then the late retry is ignored and nothing is sent or claimed again', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-claim-1' }));
    const held = t.smtp.hold();
    const first = t.services.worker.drain();
    await held.reached;
    // While the lease is live the row is its worker's: the reopen leaves it (positive control).
    expect((await reopen('T-claim-1')).body).toEqual({ survey_id: closed.body.survey_id, status: 'sending' });
    clock.advance(61_000);
    expect((await reopen('T-claim-1')).body).toEqual({ survey_id: closed.body.survey_id, status: 'cancelled' });

    held.answer('tempfail');
    expect(await first).toBe(1);
    expect(await outboxRow()).toEqual({ status: 'cancelled', attempts: 1, locked_until: null, last_error: null });
    expect((await surveyRow()).status).toBe('cancelled');
    expect(await lostClaims()).toEqual([{ outbox: 'email', transition: 'retry', n: 1 }]);
    await noFurtherClaim();
    expect(t.smtp.messages).toHaveLength(0);
    const [kept, rebuilt] = await countersAndRebuild();
    expect(kept).toEqual(rebuilt);
  });

  it('when a customer is erased while a worker sends their email, then the row is left to it, and its retry ends cancelled, never mailing the blanked address', async () => {
    await t.postWebhook(ticketPayload());
    const held = t.smtp.hold();
    const first = t.services.worker.drain();
    await held.reached;
    const erased = await request(t.app).delete('/api/customers/ann%40example.com').set('Authorization', `Bearer ${t.config.adminToken}`);
    expect(erased.body.erased).toMatchObject({ surveys: 1 });
    expect(await outboxRow()).toMatchObject({ status: 'pending', attempts: 1 }); // still the worker's
    expect(await surveyRow()).toMatchObject({ status: 'scheduled', customer_email: 'erased@erased.invalid' });

    // The server's reply quotes the address; the worker still holds its claim, so its retry counts.
    held.answer('tempfail', '4.2.2 <ann@example.com>: mailbox full');
    expect(await first).toBe(1);
    expect(await outboxRow()).toMatchObject({ status: 'pending', attempts: 1, locked_until: null, last_error: expect.stringContaining('451 4.2.2 <[address]>') });
    expect(await lostClaims()).toEqual([]);

    clock.advance(3600_000);
    expect(await t.services.worker.drain()).toBe(1);
    expect(await outboxRow()).toMatchObject({ status: 'cancelled', attempts: 2, locked_until: null });
    expect((await surveyRow()).status).toBe('cancelled');
    expect(t.smtp.messages).toHaveLength(0);
    await noFurtherClaim();
    const [kept, rebuilt] = await countersAndRebuild();
    expect(kept).toEqual(rebuilt);
    const everything = JSON.stringify(await Promise.all((await tableNames(t.db)).map((name) => t.db(name).select('*'))));
    expect(everything).not.toMatch(/ann@example\.com/i);
    expect(logs.join('')).not.toMatch(/ann@example\.com/);
  });
});
