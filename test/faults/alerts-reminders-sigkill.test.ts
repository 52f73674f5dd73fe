import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';
import { freePort, openDatabase, postWebhook, PUBLIC_URL, seededRandom, serviceEnv, sleep, startService, statuses, ticket, waitUntil, type Service } from './service-process';
import { followupsIn, LEADS, ratingToken, startRelay, statusesOf, surveysWithLeads, type Relay } from './outbox-fault-helpers';
import type { Arrived } from './faulty-smtp';

const KILLS = 4; // one per wave of tickets
const CONCURRENCY = 4;
/** Short, so the rows a killed process held come back within the case; far longer than one send here (see LEASE_SECONDS in service-process.ts). */
const LEASE_SECONDS = 10;
/** The relay answers each message this long after it arrived, so sends are in flight whenever a kill lands. */
const REPLY_DELAY_MS = 150;
/** REMINDER_AFTER_HOURS: 1.8 s after the first email. */
const REMINDER_AFTER_HOURS = 0.0005;
const LOW = 2; // ALERT_MAX_SCORE's default

/** One ticket of a wave: rated (low: an alert to its team's leads) or silent (a reminder). */
type Plan = { team: string | null; score?: number };
const WAVE: Plan[] = [
  { team: 'billing', score: 1 },
  { team: 'shipping', score: 2 },
  { team: 'returns', score: 1 },
  { team: null, score: 2 },
  { team: 'billing', score: 5 },
  { team: 'billing' },
  { team: 'shipping' },
  { team: 'returns' },
  { team: null },
  { team: 'shipping' },
];
const leadOf = (team: string | null) => (team === 'billing' ? LEADS.billing : team === 'shipping' ? LEADS.shipping : LEADS.default);

type Survey = Plan & { n: number; id: string; messageId: string };
/** What a kill interrupted: the message the relay was holding for it, and every row the killed process held under a lease. */
type Kill = { gated: string; holding: string[]; leased: { survey: number; reminder: number; alert: number } };

const surveyMessageId = (surveyId: string) => `<survey.${surveyId}@csat.example.test>`;
const reminderMessageId = (surveyId: string) => `<reminder.${surveyId}@csat.example.test>`;
const alertMessageId = (surveyId: string, alertId: number) => `<alert.${surveyId}.${alertId}@localhost>`;

/**
 * The service as a real process, SIGKILLed while reminders and lead alerts are being sent, and
 * restarted on the same database each time, as test/faults/sigkill.test.ts does for survey emails.
 * Each kill lands while the relay holds a reminder or an alert it already has (it answers that one
 * only after the kill), with other sends of all three outboxes in flight around it.
 */
describe('reminders and lead alerts when the service is killed with SIGKILL mid-send', () => {
  let dir: string;
  let relay: Relay;
  let database: Record<string, string>;
  let db: Knex | undefined;
  let service: Service | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-faults-kill-outboxes-'));
    relay = await startRelay({ replyDelayMs: REPLY_DELAY_MS });
    database = freshDatabaseEnv(dir);
  });
  afterEach(async () => {
    await service?.kill();
    await db?.destroy();
    await relay.close();
    await dropDatabase(database);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when it is killed four times while reminders and alerts are in flight and restarted, then every due reminder and every lead alert is delivered, no survey gets a second reminder of its own, and re-sends stay within what each killed process held', async () => {
    const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`alerts and reminders sigkill fault case: seed ${seed} (repeat with FAULTS_SEED=${seed})`);
    const random = seededRandom(seed);
    const surveysFile = path.join(dir, 'surveys.yml');
    fs.writeFileSync(surveysFile, surveysWithLeads());
    const env = serviceEnv(database, await freePort(), {
      SMTP_URL: relay.url,
      SURVEYS_FILE: surveysFile,
      REMINDER_AFTER_HOURS: String(REMINDER_AFTER_HOURS),
      DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS),
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      DELIVERY_MAX_ATTEMPTS: '50',
      RATE_LIMIT_PER_MINUTE: '1000000',
    });
    service = await startService(env);
    db = openDatabase(database);

    /**
     * Every claim a killed process held (Message-ID → the attempts it held it under): the only sends whose
     * message can arrive again. A claim is its row and attempt (shared/outbox-poller.ts), so a row still
     * under a dead process's lease at the next kill counts once.
     */
    const claims = new Map<string, Set<number>>();
    async function leasedNow(): Promise<Kill['leased']> {
      const held = (table: string, columns: string[]) => db!(table).where({ status: 'pending' }).whereNotNull('locked_until').select(...columns, 'attempts');
      const rows = [
        ...(await held('outbox', ['survey_id'])).map((r) => ({ kind: 'survey' as const, messageId: surveyMessageId(r.survey_id), attempts: Number(r.attempts) })),
        ...(await held('reminders', ['survey_id'])).map((r) => ({ kind: 'reminder' as const, messageId: reminderMessageId(r.survey_id), attempts: Number(r.attempts) })),
        ...(await held('lead_alerts', ['id', 'survey_id'])).map((r) => ({ kind: 'alert' as const, messageId: alertMessageId(r.survey_id, Number(r.id)), attempts: Number(r.attempts) })),
      ];
      const leased = { survey: 0, reminder: 0, alert: 0 };
      for (const r of rows) {
        const attempts = claims.get(r.messageId) ?? new Set<number>();
        if (!attempts.has(r.attempts)) leased[r.kind] += 1;
        claims.set(r.messageId, attempts.add(r.attempts));
      }
      return leased;
    }

    const kills: Kill[] = [];
    async function killAndRestart(gated: Arrived) {
      const holding = relay.holding();
      await service!.kill();
      kills.push({ gated: gated.messageId, holding, leased: await leasedNow() });
      service = await startService(env);
    }

    /** The customer's click on a rating page's form, from the page's own origin: it counts at once. */
    async function rate(s: Survey, token: string) {
      const res = await fetch(`${service!.url}/r/${token}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: new URL(PUBLIC_URL).origin },
        body: `score=${s.score}${s.score! <= LOW ? `&comment=${encodeURIComponent(`Unhappy ${s.n}`)}` : ''}`,
        redirect: 'manual',
      });
      await res.text();
      expect([s.n, res.status]).toEqual([s.n, 303]);
    }

    const surveys: Survey[] = [];
    for (let wave = 0; wave < KILLS; wave += 1) {
      // The next reminder (even waves) or alert (odd waves) the relay gets is held there until the kill.
      const gate = relay.gate(wave % 2 === 0 ? '<reminder.' : '<alert.');
      const batch: Survey[] = [];
      for (const [i, plan] of WAVE.entries()) {
        const n = wave * WAVE.length + i;
        const payload = { ...ticket(`KILL-OUTBOXES-${seed}-${n}`, n), team: plan.team };
        let answer = await postWebhook(service.url, payload);
        while (answer.status === 503) answer = await sleep(50).then(() => postWebhook(service!.url, payload)); // SQLite's write lock, briefly
        expect([n, answer.status, answer.body.status]).toEqual([n, 202, 'scheduled']);
        const id = String(answer.body.survey_id);
        batch.push({ ...plan, n, id, messageId: surveyMessageId(id) });
      }
      surveys.push(...batch);
      // The customers get their emails (marked sent: each survey's reminder is queued), and some rate at once.
      const sent = async () => Number((await db!('surveys').whereIn('id', batch.map((s) => s.id)).andWhere({ status: 'sent' }).count<{ n: number }[]>({ n: '*' }))[0].n) === batch.length;
      await waitUntil(service, sent, 60_000, async () => `wave ${wave}'s surveys sent; surveys ${JSON.stringify(await statuses(db!, 'surveys'))}`);
      for (const s of batch.filter((x) => x.score !== undefined)) await rate(s, await ratingToken(relay.arrived.find((m) => m.messageId === s.messageId)!));
      await waitUntil(service, () => gate.got() !== undefined, 60_000, () => `a ${wave % 2 === 0 ? 'reminder' : 'lead alert'} held at the relay (holding ${JSON.stringify(relay.holding())})`);
      await sleep(Math.floor(random() * REPLY_DELAY_MS)); // the other sends in flight move on by a random step
      await killAndRestart(gate.got()!);
    }
    expect(kills).toHaveLength(KILLS);

    // The last process delivers everything: the rows leased at the last kill come back after LEASE_SECONDS.
    const settled = async () => {
      const [outbox, alerts, reminders] = await Promise.all([statusesOf(db!, 'outbox'), statusesOf(db!, 'lead_alerts'), statusesOf(db!, 'reminders')]);
      return outbox.pending === undefined && alerts.pending === undefined && reminders.pending === undefined;
    };
    await waitUntil(service, settled, LEASE_SECONDS * 1000 + 120_000, async () =>
      `nothing pending; outbox ${JSON.stringify(await statusesOf(db!, 'outbox'))}, reminders ${JSON.stringify(await statusesOf(db!, 'reminders'))}, lead alerts ${JSON.stringify(await statusesOf(db!, 'lead_alerts'))}`,
    );
    const counts = relay.counts();

    // Survey emails: every one sent and at the relay.
    expect(await statusesOf(db, 'surveys')).toEqual({ sent: surveys.length });
    expect(surveys.filter((s) => !counts.has(s.messageId)).map((s) => s.n)).toEqual([]);

    // Reminders: every silent survey's sent and at the relay (none lost); a rated survey's cancelled as rated, or sent when
    // it went before the rating did. None failed, none pending.
    const reminderRows = new Map<string, { status: string; reason: string | null }>((await db('reminders').select('survey_id', 'status', 'reason')).map((r) => [r.survey_id, { status: r.status, reason: r.reason }]));
    expect(reminderRows.size).toBe(surveys.length);
    for (const s of surveys) {
      const row = reminderRows.get(s.id);
      if (s.score === undefined) expect([s.n, row]).toEqual([s.n, { status: 'sent', reason: null }]);
      else expect([s.n, row]).toEqual([s.n, row?.status === 'sent' ? { status: 'sent', reason: null } : { status: 'cancelled', reason: 'rated' }]);
    }
    const remindedIds = surveys.filter((s) => reminderRows.get(s.id)?.status === 'sent').map((s) => reminderMessageId(s.id));
    expect(remindedIds.filter((m) => !counts.has(m))).toEqual([]);
    // No survey got a second reminder of its own: every reminder at the relay answers (In-Reply-To) a survey whose reminder
    // was sent, and carries that survey's one reminder Message-ID. Or one a killed process held: its message may have
    // reached the relay, and the row, decided again after the restart, cancelled because the survey was rated meanwhile
    // (a rating that lands while the reminder is in flight, as under a busy machine; see the re-sends below).
    const heldThenCancelled = surveys
      .filter((s) => reminderRows.get(s.id)?.status === 'cancelled' && claims.has(reminderMessageId(s.id)) && counts.has(reminderMessageId(s.id)))
      .map((s) => reminderMessageId(s.id));
    const reminderMails = relay.ofKind('reminder');
    const byThread = new Map<string, Set<string>>();
    for (const m of reminderMails) {
      const thread = String((await m.parsed).inReplyTo);
      byThread.set(thread, (byThread.get(thread) ?? new Set()).add(m.messageId));
    }
    expect([...byThread].map(([thread, ids]) => [thread, [...ids]]).sort()).toEqual(
      [...remindedIds, ...heldThenCancelled].map((id) => [id.replace('<reminder.', '<survey.'), [id]]).sort(),
    );

    // Lead alerts: one per low rating, to its team's leads, every one sent and at the relay in its own email (no digest).
    const lowRated = surveys.filter((s) => s.score !== undefined && s.score <= LOW);
    const alertRows: Array<{ id: number; survey_id: string; followup_id: number; recipient: string; status: string }> = await db('lead_alerts').orderBy('id').select('id', 'survey_id', 'followup_id', 'recipient', 'status');
    expect(alertRows.map((a) => a.survey_id).sort()).toEqual(lowRated.map((s) => s.id).sort());
    expect(alertRows.filter((a) => a.status !== 'sent')).toEqual([]);
    const alertMails = relay.ofKind('alert');
    for (const a of alertRows) {
      const s = surveys.find((x) => x.id === a.survey_id)!;
      expect(a.recipient).toBe(leadOf(s.team));
      const copies = alertMails.filter((m) => m.messageId === alertMessageId(a.survey_id, a.id));
      expect([a.id, copies.length > 0]).toEqual([a.id, true]);
      for (const m of copies) {
        expect(m.to).toEqual([leadOf(s.team)]);
        expect(await followupsIn(m)).toEqual([a.followup_id]);
      }
    }
    expect(new Set(alertMails.map((m) => m.messageId)).size).toBe(alertRows.length);

    // Re-sends: a Message-ID arrives again only for a send a killed process held (its message may have reached the
    // relay before the kill); each held claim explains at most one extra copy. The messages the relay held at the
    // kills had arrived, and their senders never heard so: each came again.
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([messageId, n]) => ({ messageId, extra: n - 1, claims: claims.get(messageId)?.size ?? 0 }));
    const extra = duplicates.reduce((sum, d) => sum + d.extra, 0);
    console.log(
      `alerts and reminders sigkill fault case (seed ${seed}): kills ${JSON.stringify(kills.map(({ gated, holding, leased }) => ({ gated, holding: holding.length, leased })))}; ` +
        `${extra} messages re-sent after a kill: ${JSON.stringify(duplicates)}`,
    );
    expect(duplicates.filter((d) => d.extra > d.claims)).toEqual([]);
    // (A gated reminder whose survey got rated before it came back is decided again, and cancelled: only sent ones must come again.)
    const gatedSent = kills.map((k) => k.gated).filter((m) => !m.startsWith('<reminder.') || remindedIds.includes(m));
    for (const m of gatedSent) expect([m, (counts.get(m) ?? 0) >= 2]).toEqual([m, true]);
    const perKind = (kind: 'survey' | 'reminder' | 'alert') => ({
      extra: duplicates.filter((d) => d.messageId.startsWith(`<${kind}.`)).reduce((sum, d) => sum + d.extra, 0),
      heldAtKills: kills.reduce((sum, k) => sum + k.leased[kind], 0),
    });
    for (const kind of ['survey', 'reminder', 'alert'] as const) {
      const { extra: n, heldAtKills } = perKind(kind);
      expect([kind, n <= heldAtKills]).toEqual([kind, true]);
    }
    for (const k of kills) for (const kind of ['survey', 'reminder', 'alert'] as const) expect(k.leased[kind]).toBeLessThanOrEqual(CONCURRENCY);

    // The last process is still serving and stops cleanly.
    expect(await service.stop()).toBe(0);
  }, 300_000); // a safety net: under a minute normally
});
