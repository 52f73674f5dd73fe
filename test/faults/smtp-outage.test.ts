import request from 'supertest';
import { bootApp, type TestApp } from '../helpers/boot';
import { startFaultySmtp, type FaultySmtp } from './faulty-smtp';
import { lastWorkerPass, retryNow } from '../helpers/outbox';
import { statuses, ticket, waitUntil } from './service-process';

const SURVEYS = 20;
const REJECTED = 'nobody@example.com';

type OutboxRow = { survey_id: string; status: string; attempts: number; last_error: string | null };

/**
 * End to end through a real SMTP server that goes through a bad spell: what must hold afterwards
 * is checked in the database and at the server. (test/delivery/outbox.test.ts covers the policy
 * pieces one by one with a manual clock; this runs the real worker on the real clock.)
 */
describe('delivery while the SMTP relay misbehaves', () => {
  let smtp: FaultySmtp;
  let t: TestApp | undefined;

  beforeEach(async () => {
    smtp = await startFaultySmtp();
  });
  afterEach(async () => {
    await t?.close();
    await smtp.close();
  });

  it('when the relay refuses connections, then answers 421, then 451 for a while, and 550 for one recipient, then the temporary faults are retried until delivered, the rejected survey ends failed with its reason, and every other survey arrives exactly once', async () => {
    await smtp.refuse();
    smtp.state.rejectRecipients.add(REJECTED);
    const app = await bootApp({ SMTP_URL: smtp.url, DELIVERY_RETRY_BASE_SECONDS: '0.01', DELIVERY_MAX_ATTEMPTS: '50' });
    t = app;
    app.services.worker.start();

    const surveyIds: string[] = [];
    for (let n = 0; n < SURVEYS; n += 1) {
      const payload = ticket(`SMTP-${process.pid}-${n}`, n);
      if (n === 7) payload.customer.email = REJECTED;
      const res = await app.postWebhook(payload);
      expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
      surveyIds.push(res.body.survey_id);
    }
    const rejectedId = surveyIds[7];
    const outbox = (): Promise<OutboxRow[]> => app.db('outbox').select('survey_id', 'status', 'attempts', 'last_error');

    /**
     * A fault lasts at least `minMs` and until every email still pending has been tried and turned away by it.
     * Each begins with the waiting emails due (retryNow), so it does not wait out the backoff of the ones before.
     */
    async function spell(name: string, error: RegExp, minMs: number) {
      const started = Date.now();
      await retryNow(app.db);
      const allHit = async () => (await outbox()).filter((r) => r.status === 'pending').every((r) => error.test(r.last_error ?? ''));
      await waitUntil(undefined, async () => Date.now() - started >= minMs && (await allHit()), 60_000, async () => `every pending email to fail with ${error} (${name}); outbox ${JSON.stringify(await outbox())}`);
    }

    await spell('connections refused', /ECONNREFUSED/, 400);
    expect(smtp.arrived).toHaveLength(0);

    smtp.state.fault = 'greet421';
    await smtp.accept();
    await spell('421 at the greeting', /421/, 400);

    smtp.state.fault = 'tempfail451';
    await spell('451 at RCPT TO', /451/, 400);
    expect(smtp.arrived).toHaveLength(0);

    smtp.state.fault = 'none';
    await retryNow(app.db);
    await waitUntil(undefined, async () => JSON.stringify(await statuses(app.db, 'surveys')) === JSON.stringify({ failed: 1, sent: SURVEYS - 1 }), 60_000, async () => `all but one sent; surveys now ${JSON.stringify(await statuses(app.db, 'surveys'))}`);

    // Every fault was really answered, and the 550 only once: a permanent failure is not retried.
    expect(smtp.state.seen.greet421).toBeGreaterThan(0);
    expect(smtp.state.seen.tempfail451).toBeGreaterThan(0);
    expect(smtp.state.seen.reject550).toBe(1);

    // In the database: the rejected survey failed with the server's reason, every other one is sent after retries.
    const rejected = await app.db('surveys').where({ id: rejectedId }).first();
    expect(rejected.status).toBe('failed');
    expect(rejected.last_error).toMatch(/550.*No such user/);
    const rows = await outbox();
    const rejectedRow = rows.find((r) => r.survey_id === rejectedId)!;
    expect(rejectedRow).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/550/) });
    for (const r of rows.filter((row) => row.survey_id !== rejectedId)) {
      expect(r).toMatchObject({ status: 'sent', last_error: null });
      expect(r.attempts).toBeGreaterThanOrEqual(4); // refused, 421, 451, then delivered
    }
    const surveys: Array<{ id: string; status: string; message_id: string }> = await app.db('surveys').select('id', 'status', 'message_id');

    // At the server: every other survey exactly once, the rejected one never.
    const counts = smtp.counts();
    for (const s of surveys) expect([s.id, counts.get(s.message_id) ?? 0]).toEqual([s.id, s.id === rejectedId ? 0 : 1]);
    expect(smtp.arrived).toHaveLength(SURVEYS - 1);

    // It stays that way: nothing is retried after the end (every row is final; a whole worker pass after that takes none up).
    expect(await lastWorkerPass(app)).toBe(0);
    expect((await outbox()).find((r) => r.survey_id === rejectedId)!.attempts).toBe(rejectedRow.attempts);
    expect(smtp.arrived).toHaveLength(SURVEYS - 1);

    // And the counters the reports read agree.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const report = await request(app.app).get(`/reports/agents?from=${day(-1)}&to=${day(1)}`).set('Authorization', `Bearer ${app.config.reportsToken}`);
    expect([report.status, report.body.overall.surveys_sent, report.body.overall.failed]).toEqual([200, SURVEYS - 1, 1]);
  }, 300_000); // a safety net: a few seconds normally
});
