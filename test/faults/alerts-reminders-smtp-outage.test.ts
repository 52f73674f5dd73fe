import request from 'supertest';
import { bootApp, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { tempDir, validWith } from '../surveys/fixtures';
import { retryNow } from '../helpers/outbox';
import { statuses, ticket, waitUntil } from './service-process';
import { followupsIn, LEADS, pendingIn, ratingToken, startRelay, statusesOf, surveysWithLeads, type Relay } from './outbox-fault-helpers';

const HOUR = 3_600_000;

/** What the case does with each survey: rated low (an alert) or not (no alert) in one of the relay's bad phases, or left silent (a reminder). */
type Plan = { team: string | null; rate?: { phase: 0 | 1 | 2; score: number }; gone?: true };

// Phases: 0 connections refused, 1 421 at the greeting, 2 451 at RCPT TO. Teams: billing and shipping have leads of their own,
// returns and no team go to the default leads, whose address the relay rejects with 550.
const PLANS: Plan[] = [
  { team: 'billing', rate: { phase: 0, score: 1 } },
  { team: 'shipping', rate: { phase: 0, score: 2 } },
  { team: 'returns', rate: { phase: 0, score: 1 } },
  { team: 'billing', rate: { phase: 0, score: 5 } },
  { team: 'billing', rate: { phase: 1, score: 2 } },
  { team: 'shipping', rate: { phase: 1, score: 1 } },
  { team: null, rate: { phase: 1, score: 1 } },
  { team: 'billing', rate: { phase: 2, score: 1 } },
  { team: 'shipping', rate: { phase: 2, score: 2 } },
  { team: 'returns', rate: { phase: 2, score: 2 } },
  { team: 'shipping', rate: { phase: 2, score: 4 } },
  { team: 'billing' },
  { team: 'billing' },
  { team: 'shipping' },
  { team: null, gone: true }, // silent, and its mailbox is gone by the time of the reminder: 550
];
const LOW = 2; // ALERT_MAX_SCORE's default
const leadOf = (team: string | null) => (team === 'billing' ? LEADS.billing : team === 'shipping' ? LEADS.shipping : LEADS.default);

type Survey = Plan & { n: number; id: string; token: string; email: string };
type AlertRow = { id: number; survey_id: string; followup_id: number; leads_key: string; recipient: string; status: string; batch_id: number | null; attempts: number; last_error: string | null };
type ReminderRow = { survey_id: string; status: string; reason: string | null; attempts: number; last_error: string | null };

/**
 * The lead-alert and reminder outboxes through the same bad spell of the SMTP relay as the survey emails
 * in smtp-outage.test.ts: the real workers on a real clock (moved forward once, while nothing is leased,
 * so the reminders fall due after REMINDER_AFTER_HOURS as they would), the relay a real SMTP server.
 * Low ratings come in by the rating form, in every phase of the spell; silent surveys' reminders fall due
 * during it. What must hold afterwards is checked at the relay and in the database.
 */
describe('lead alerts and reminders while the SMTP relay misbehaves', () => {
  const tmp = tempDir('closeloop-faults-outage-');
  let relay: Relay;
  let t: TestApp | undefined;

  beforeEach(async () => {
    relay = await startRelay();
  });
  afterEach(async () => {
    if (t) {
      await t.services.reminders.stop();
      await t.services.leadAlerts.stop();
      await t.close();
      t = undefined;
    }
    await relay.close();
  });
  afterAll(() => tmp.cleanup());

  it.each([
    ['each alert at once', 0],
    ['a digest of a minute', 1],
  ])(
    'when the relay refuses connections, then answers 421, then 451 for a while, and 550 for the default leads and one gone customer (%s), then every lead alert and every due reminder arrives exactly once, the rejected ones end failed with the reason, and nothing stays pending',
    async (_name, digestMinutes) => {
      // A real clock the case can move forward: reminders fall due an hour after the first email.
      let offsetMs = 0;
      const clock = { now: () => new Date(Date.now() + offsetMs) };
      const app = await bootApp(
        {
          SMTP_URL: relay.url,
          SURVEYS_FILE: tmp.write(`surveys-${digestMinutes}.yml`, surveysWithLeads()),
          REMINDER_AFTER_HOURS: '1',
          ALERT_DIGEST_MINUTES: String(digestMinutes),
          DELIVERY_RETRY_BASE_SECONDS: '0.01',
          DELIVERY_MAX_ATTEMPTS: '50',
        },
        clock,
      );
      t = app;
      app.services.worker.start();
      app.services.reminders.start();
      app.services.leadAlerts.start();

      // Every survey's first email goes out while the relay is well; each queues its reminder, due an hour later.
      const surveys: Survey[] = [];
      for (const [n, plan] of PLANS.entries()) {
        const payload = { ...ticket(`OUTAGE-${process.pid}-${digestMinutes}-${n}`, n), team: plan.team };
        const res = await app.postWebhook(payload);
        expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
        surveys.push({ ...plan, n, id: res.body.survey_id, token: '', email: payload.customer.email });
      }
      await waitUntil(undefined, async () => (await statuses(app.db, 'surveys')).sent === PLANS.length, 60_000, async () => `every first email sent; surveys ${JSON.stringify(await statuses(app.db, 'surveys'))}`);
      for (const s of surveys) {
        const first = relay.arrived.find((m) => m.messageId === `<survey.${s.id}@csat.example.test>`);
        expect([s.id, Boolean(first)]).toEqual([s.id, true]);
        s.token = await ratingToken(first!);
      }
      expect(await statusesOf(app.db, 'reminders')).toEqual({ pending: PLANS.length });
      const gone = surveys.find((s) => s.gone)!;
      relay.state.rejectRecipients.add(LEADS.default);
      relay.state.rejectRecipients.add(gone.email);

      const reminders = (): Promise<ReminderRow[]> => app.db('reminders').select('survey_id', 'status', 'reason', 'attempts', 'last_error');
      const alerts = (): Promise<AlertRow[]> => app.db('lead_alerts').orderBy('id').select('id', 'survey_id', 'followup_id', 'leads_key', 'recipient', 'status', 'batch_id', 'attempts', 'last_error');

      /** A person's rating on the form of the rating page (counts at once, README "Rating links and mail scanners"). */
      async function rate(s: Survey) {
        const form = `score=${s.rate!.score}${s.rate!.score <= LOW ? `&comment=${encodeURIComponent(`Unhappy ${s.n}`)}` : ''}`;
        const res = await request(app.app).post(`/r/${s.token}`).set('Origin', PUBLIC_URL).type('form').send(form);
        expect([s.id, res.status]).toEqual([s.id, 303]);
      }

      /** Makes what waits out a retry delay (and, with a digest, its window) due now on the test's clock, as smtp-outage.test.ts does for survey emails; leased rows are left alone. */
      const retryBothNow = async () => {
        for (const table of ['reminders', 'lead_alerts'] as const) await retryNow(app.db, table, clock.now());
      };

      /**
       * Every reminder still pending, and the first pending alert of each leads list (the one whose email is tried;
       * the others wait behind it or ride in it), was last turned away with `error`.
       */
      async function allHit(error: RegExp): Promise<boolean> {
        const pendingReminders = (await reminders()).filter((r) => r.status === 'pending');
        const heads = new Map<string, AlertRow>();
        for (const a of (await alerts()).filter((r) => r.status === 'pending')) if (!heads.has(a.leads_key)) heads.set(a.leads_key, a);
        return [...pendingReminders, ...heads.values()].every((r) => error.test(r.last_error ?? ''));
      }

      /** A fault lasts at least `minMs` and until every reminder and alert email still pending has been tried and turned away by it; its ratings come in at its start. */
      async function spell(phase: 0 | 1 | 2, name: string, error: RegExp, minMs: number) {
        const started = Date.now();
        for (const s of surveys.filter((x) => x.rate?.phase === phase)) await rate(s);
        await retryBothNow();
        await waitUntil(undefined, async () => Date.now() - started >= minMs && (await allHit(error)), 60_000, async () => `every pending reminder and alert email to fail with ${error} (${name}); reminders ${JSON.stringify(await reminders())}, alerts ${JSON.stringify(await alerts())}`);
      }

      await relay.refuse();
      // Nothing is leased now (every first email is sent, no reminder is due, no alert exists): the clock can jump without
      // a claim's lease running out under it. The reminders are due from here on.
      offsetMs = HOUR + 1000;
      await spell(0, 'connections refused', /ECONNREFUSED/, 400);
      expect(relay.arrived).toHaveLength(PLANS.length);

      relay.state.fault = 'greet421';
      await relay.accept();
      await spell(1, '421 at the greeting', /421/, 400);

      relay.state.fault = 'tempfail451';
      await spell(2, '451 at RCPT TO', /451|550/, 400); // the rejected addresses are answered 550 (and fail) in this phase
      expect(relay.arrived).toHaveLength(PLANS.length);

      relay.state.fault = 'none';
      await retryBothNow();
      await waitUntil(
        undefined,
        async () => (await pendingIn(app.db, 'reminders')) === 0 && (await pendingIn(app.db, 'lead_alerts')) === 0,
        60_000,
        async () => `no reminder or alert pending; reminders ${JSON.stringify(await reminders())}, alerts ${JSON.stringify(await alerts())}`,
      );

      // Every fault was really answered.
      expect(relay.state.seen.greet421).toBeGreaterThan(0);
      expect(relay.state.seen.tempfail451).toBeGreaterThan(0);

      // Reminders in the database: the silent surveys' sent (after refused, 421 and 451), the gone customer's failed with
      // the relay's reason, every rated survey's cancelled as rated (decided at the first try after its rating).
      const reminderRows = new Map((await reminders()).map((r) => [r.survey_id, r]));
      expect(reminderRows.size).toBe(PLANS.length);
      for (const s of surveys) {
        const row = reminderRows.get(s.id)!;
        if (s.gone) expect([s.n, row]).toEqual([s.n, expect.objectContaining({ status: 'failed', reason: null, last_error: expect.stringMatching(/550.*No such user/) })]);
        else if (s.rate) expect([s.n, row]).toEqual([s.n, expect.objectContaining({ status: 'cancelled', reason: 'rated' })]);
        else {
          expect([s.n, row]).toEqual([s.n, expect.objectContaining({ status: 'sent', reason: null, last_error: null })]);
          expect([s.n, row.attempts >= 4]).toEqual([s.n, true]); // refused, 421, 451, then delivered
        }
      }
      const silent = surveys.filter((s) => !s.rate && !s.gone);

      // Reminders at the relay: each silent survey's exactly once, as its own Message-ID, threaded under its first email; none else.
      const counts = relay.counts();
      const reminderMails = relay.ofKind('reminder');
      expect(reminderMails.map((m) => m.messageId).sort()).toEqual(silent.map((s) => `<reminder.${s.id}@csat.example.test>`).sort());
      for (const s of silent) expect([s.n, counts.get(`<reminder.${s.id}@csat.example.test>`)]).toEqual([s.n, 1]);
      for (const m of reminderMails) {
        const surveyId = /^<reminder\.([^@]+)@/.exec(m.messageId)![1];
        expect((await m.parsed).inReplyTo).toBe(`<survey.${surveyId}@csat.example.test>`);
        expect(m.to).toEqual([surveys.find((s) => s.id === surveyId)!.email]);
      }
      // And each survey's first email exactly once.
      for (const s of surveys) expect([s.n, counts.get(`<survey.${s.id}@csat.example.test>`)]).toEqual([s.n, 1]);

      // Lead alerts in the database: one per low rating, for its team's leads; the default leads' failed with the 550, the others sent.
      const lowRated = surveys.filter((s) => s.rate && s.rate.score <= LOW);
      const alertRows = await alerts();
      expect(alertRows.map((a) => a.survey_id).sort()).toEqual(lowRated.map((s) => s.id).sort());
      const followups: Array<{ id: number; survey_id: string }> = await app.db('followups').select('id', 'survey_id');
      expect(followups.map((f) => f.survey_id).sort()).toEqual(lowRated.map((s) => s.id).sort());
      for (const a of alertRows) {
        const s = surveys.find((x) => x.id === a.survey_id)!;
        expect(a.recipient).toBe(leadOf(s.team));
        expect(followups.find((f) => f.survey_id === s.id)!.id).toBe(a.followup_id);
        if (leadOf(s.team) === LEADS.default) expect([s.n, a]).toEqual([s.n, expect.objectContaining({ status: 'failed', last_error: expect.stringMatching(/550.*No such user/) })]);
        else expect([s.n, a]).toEqual([s.n, expect.objectContaining({ status: 'sent', last_error: null })]);
      }

      // Lead alerts at the relay: the default leads got nothing; every other alert is in exactly one email that arrived
      // exactly once, to its team's leads. Each email the default leads' address was refused for was refused once (a 550
      // is not retried), and so was the gone customer's reminder.
      const alertMails = relay.ofKind('alert');
      expect(alertMails.filter((m) => m.to.includes(LEADS.default))).toEqual([]);
      for (const m of alertMails) expect([m.messageId, counts.get(m.messageId)]).toEqual([m.messageId, 1]);
      const carriedBy = new Map<number, string[]>(); // follow-up id → the Message-IDs of the emails that carried it
      for (const m of alertMails) for (const f of await followupsIn(m)) carriedBy.set(f, [...(carriedBy.get(f) ?? []), m.messageId]);
      const delivered = alertRows.filter((a) => a.status === 'sent');
      expect([...carriedBy.keys()].sort((x, y) => x - y)).toEqual(delivered.map((a) => a.followup_id).sort((x, y) => x - y));
      for (const a of delivered) {
        const [messageId, ...more] = carriedBy.get(a.followup_id)!;
        expect([a.id, more]).toEqual([a.id, []]);
        const mail = alertMails.find((m) => m.messageId === messageId)!;
        expect(mail.to).toEqual([a.leads_key === 'billing' ? LEADS.billing : LEADS.shipping]);
        // The email is its batch's: named after the batch's first alert (src/alerts/worker.ts alertMessageId).
        const head = alertRows.find((h) => h.id === (a.batch_id ?? a.id))!;
        expect(messageId).toBe(`<alert.${head.survey_id}.${head.id}@localhost>`);
      }
      const failedBatches = new Set(alertRows.filter((a) => a.status === 'failed').map((a) => a.batch_id ?? a.id));
      expect(relay.state.seen.reject550).toBe(failedBatches.size + 1);
      if (digestMinutes === 0) {
        // Each alert its own email, and the leads get theirs in order.
        expect(alertMails).toHaveLength(delivered.length);
        for (const key of ['billing', 'shipping']) {
          const ids = delivered.filter((a) => a.leads_key === key).map((a) => a.id);
          expect(alertMails.filter((m) => m.to.includes(key === 'billing' ? LEADS.billing : LEADS.shipping)).map((m) => Number(/\.(\d+)@/.exec(m.messageId)![1]))).toEqual(ids);
        }
      } else {
        // One digest per team: the alerts that came in during the spell joined the one being retried.
        expect(alertMails.map((m) => m.to[0]).sort()).toEqual([LEADS.billing, LEADS.shipping]);
        for (const m of alertMails) expect((await m.parsed).subject).toMatch(/^3 low ratings in (billing|shipping)$/);
      }
      expect(relay.arrived).toHaveLength(PLANS.length + silent.length + alertMails.length);

      // It stays that way: a whole pass of each worker after the end takes nothing up, and nothing more arrives.
      const arrived = relay.arrived.length;
      expect(await app.services.reminders.drain()).toBe(0);
      expect(await app.services.leadAlerts.drain()).toBe(0);
      await app.services.reminders.stop();
      await app.services.leadAlerts.stop();
      expect(relay.arrived).toHaveLength(arrived);
      expect(await statusesOf(app.db, 'reminders')).toEqual({ sent: silent.length, failed: 1, cancelled: PLANS.length - silent.length - 1 });

      // And the reports count the reminders that went out.
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const report = await request(app.app).get(`/reports/agents?from=${day(-1)}&to=${day(2)}`).set('Authorization', `Bearer ${app.config.reportsToken}`);
      expect([report.status, report.body.overall.surveys_sent, report.body.overall.reminders_sent]).toEqual([200, PLANS.length, silent.length]);
    },
    300_000, // a safety net: a few seconds normally
  );

  it('when a team has two leads and the relay answers 451 for one of them for a while, then once it accepts again the alert has reached both leads: a temporary fault loses nothing', async () => {
    const [ana, ben] = [LEADS.billing, 'ben@leads.example'];
    const app = await bootApp({
      SMTP_URL: relay.url,
      SURVEYS_FILE: tmp.write('surveys-two-leads.yml', validWith({}, ['teams:', '  billing:', `    leads: [${ana}, ${ben}]`])),
      DELIVERY_RETRY_BASE_SECONDS: '0.01',
      DELIVERY_MAX_ATTEMPTS: '50',
    });
    t = app;
    app.services.worker.start();
    app.services.leadAlerts.start();

    const res = await app.postWebhook({ ...ticket(`TWO-LEADS-${process.pid}`, 0), team: 'billing' });
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    const surveyId: string = res.body.survey_id;
    await waitUntil(undefined, async () => (await statuses(app.db, 'surveys')).sent === 1, 60_000, async () => `the first email sent; surveys ${JSON.stringify(await statuses(app.db, 'surveys'))}`);
    const token = await ratingToken(relay.arrived.find((m) => m.messageId === `<survey.${surveyId}@csat.example.test>`)!);

    // Ben's mailbox is full for a while (451 for his address only); the customer rates 1 on the form.
    relay.state.tempfailRecipients.add(ben);
    await request(app.app).post(`/r/${token}`).set('Origin', PUBLIC_URL).type('form').send('score=1').expect(303);
    const alerts = async (): Promise<AlertRow[]> => app.db('lead_alerts').where({ survey_id: surveyId }).orderBy('recipient');
    await waitUntil(undefined, async () => relay.state.seen.tempfail451 > 0 && (await alerts()).length === 2, 60_000, async () => `the alert emails tried while ben's address is answered 451; alerts ${JSON.stringify(await alerts())}`);

    relay.state.tempfailRecipients.clear();
    await retryNow(app.db, 'lead_alerts');
    await waitUntil(undefined, async () => (await pendingIn(app.db, 'lead_alerts')) === 0, 60_000, async () => `the alerts no longer pending; ${JSON.stringify(await alerts())}`);

    // One row and one email per lead: each reached exactly once, under its own Message-ID.
    const rows = await alerts();
    expect(rows.map((r) => [r.recipient, r.status])).toEqual([[ana, 'sent'], [ben, 'sent']]);
    for (const row of rows) {
      const delivered = relay.arrived.filter((m) => m.messageId === `<alert.${surveyId}.${row.id}@localhost>`);
      expect([row.recipient, delivered.map((m) => m.to)]).toEqual([row.recipient, [[row.recipient]]]);
    }
  });
});
