import { claimDueOutboxRows, markSent } from '../../src/delivery/repository';
import { rebuildStats } from '../../src/surveys/counters/rebuild';
import { bootApp, manualClock, ticketPayload, TEST_SECRET, type TestApp } from '../helpers/boot';
import { signBody } from '../../src/shared/signature';
import request from 'supertest';

describe('POST /webhooks/ticket-reopened', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp({ SURVEY_DELAY_MINUTES: '30' }, clock);
  });
  afterEach(() => t.close());

  const reopen = (body: unknown, secret = TEST_SECRET) => {
    const raw = JSON.stringify(body);
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    return request(t.app)
      .post('/webhooks/ticket-reopened')
      .set('Content-Type', 'application/json')
      .set('X-Closeloop-Timestamp', ts)
      .set('X-Closeloop-Signature', signBody(secret, ts, raw))
      .send(raw);
  };

  it('when a ticket reopens before its survey is due, then the survey is cancelled and never sent', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r1' }));
    const res = await reopen({ ticket_id: 'T-r1' });
    expect([res.status, res.body]).toEqual([200, { survey_id: closed.body.survey_id, status: 'cancelled' }]);
    clock.advance(60 * 60_000);
    expect(await t.services.worker.drain()).toBe(0);
    expect(await t.db('surveys').where({ id: closed.body.survey_id }).first('status')).toEqual({ status: 'cancelled' });
    expect(await t.db('outbox').where({ survey_id: closed.body.survey_id }).first('status')).toEqual({ status: 'cancelled' });
    const report = await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`);
    expect(report.body.overall).toMatchObject({ cancelled: 1, surveys_sent: 0, suppressed: 0 });
  });

  it('when a ticket reopens after its survey was sent, then the survey stays sent', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r2' }));
    clock.advance(31 * 60_000);
    expect(await t.services.worker.drain()).toBe(1);
    const res = await reopen({ ticket_id: 'T-r2' });
    expect(res.body).toEqual({ survey_id: closed.body.survey_id, status: 'already_sent' });
    expect((await t.db('surveys').where({ id: closed.body.survey_id }).first()).status).toBe('sent');
  });

  it('when the reopened ticket was suppressed or is unknown, then nothing changes and the answer says so', async () => {
    const suppressed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r3', tags: ['spam'] }));
    expect((await reopen({ ticket_id: 'T-r3' })).body).toEqual({ survey_id: suppressed.body.survey_id, status: 'not_scheduled' });
    expect((await reopen({ ticket_id: 'T-never' })).body).toEqual({ status: 'ignored', reason: 'unknown_ticket' });
  });

  it('when a send was already tried (a token exists) before the reopen, then re-closing still works and counters equal a rebuild', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r7' }));
    await t.services.surveys.issueToken(closed.body.survey_id); // as a failed send attempt leaves behind
    await reopen({ ticket_id: 'T-r7' });
    const again = await t.postWebhook(ticketPayload({ ticket_id: 'T-r7' }));
    expect(again.status).toBe(202);
    const kept = await t.db('agent_day_stats').select('*');
    await rebuildStats(t.db, 'UTC');
    expect(await t.db('agent_day_stats').select('*')).toEqual(kept);
  });

  it('when a send outlives its lease and the ticket is reopened meanwhile, then the late result does not revive the survey', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r8' }));
    clock.advance(31 * 60_000);
    const [row] = await claimDueOutboxRows(t.db, clock.now(), new Date(clock.now().getTime() + 1000), 1);
    clock.advance(2000); // the lease ran out while the SMTP server was slow
    expect((await reopen({ ticket_id: 'T-r8' })).body.status).toBe('cancelled');
    await markSent(t.db, t.services.ledger, row, clock.now());
    expect((await t.db('surveys').where({ id: closed.body.survey_id }).first()).status).toBe('cancelled');
    expect((await t.db('outbox').where({ id: row.id }).first()).status).toBe('cancelled');
  });

  it('when a worker holds the lease (sending now), then it is not cancelled under it', async () => {
    const closed = await t.postWebhook(ticketPayload({ ticket_id: 'T-r4' }));
    await t.db('outbox').where({ survey_id: closed.body.survey_id }).update({ locked_until: new Date(clock.now().getTime() + 60_000) });
    expect((await reopen({ ticket_id: 'T-r4' })).body).toEqual({ survey_id: closed.body.survey_id, status: 'sending' });
    expect((await t.db('surveys').where({ id: closed.body.survey_id }).first()).status).toBe('scheduled');
  });

  it('when the signature or payload is bad, then 401 or 400 and nothing changes', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-r5' }));
    expect((await reopen({ ticket_id: 'T-r5' }, 'wrong-secret-0123456789')).status).toBe(401);
    const bad = await reopen({ ticket: 'T-r5' });
    expect([bad.status, bad.body.error]).toEqual([400, 'invalid_payload']);
    expect((await t.db('surveys').first()).status).toBe('scheduled');
  });

  it('when a cancelled ticket closes again, then it gets one fresh survey with the new agent, and a repeat is a duplicate', async () => {
    await t.postWebhook(ticketPayload({ ticket_id: 'T-r6' }));
    await reopen({ ticket_id: 'T-r6' });
    const again = await t.postWebhook(ticketPayload({ ticket_id: 'T-r6', agent: { id: 'a-9', name: 'Grace' } }));
    expect([again.status, again.body.status]).toEqual([202, 'scheduled']);
    expect(await t.db('surveys').orderBy('created_at').select('agent_id', 'status')).toEqual([
      { agent_id: 'a-7', status: 'cancelled' }, // kept as history
      { agent_id: 'a-9', status: 'scheduled' },
    ]);
    expect(await t.db('outbox').where({ status: 'pending' }).count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 1 }]);
    clock.advance(1000); // signed a second later: a new request, not a replay of the first close
    expect((await t.postWebhook(ticketPayload({ ticket_id: 'T-r6' }))).body.status).toBe('duplicate');
    clock.advance(31 * 60_000);
    expect(await t.services.worker.drain()).toBe(1);
  });
});
