import type { ParsedMail } from 'mailparser';
import { loadConfig } from '../../src/config';
import { rebuildStats } from '../../src/surveys/counters/rebuild';
import { ticketPayload } from '../helpers/boot';
import { onPostgres } from '../helpers/database';
import { ratingLinks } from '../helpers/smtp';
import { counterSnapshot, postRating, postWebhook, startCluster, type Cluster } from './cluster-helpers';

// Several instances on one database is a PostgreSQL set-up; SQLite has one writer and one process.
const describePg = onPostgres ? describe : describe.skip;

const TICKETS = 2_000;
const IN_FLIGHT = 32;
const KILL_AFTER_MESSAGES = 400;
// The worker claims at most DELIVERY_CONCURRENCY rows per poll and sends that batch before it claims
// again, so B held at most that many rows when it died: only those can have gone out without being marked.
const B_MAX_CLAIMED = loadConfig({}).delivery.concurrency;

/** Runs `work` for 0..count-1 with at most `lanes` calls in flight. */
async function inParallel(count: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => { while (next < count) await work(next++); }));
}

const messageIds = (mails: ParsedMail[]) => mails.map((m) => m.messageId ?? '(none)');
const distinct = (ids: string[]) => new Set(ids).size;
const tally = (values: Array<string | number>) => values.reduce<Record<string, number>>((t, v) => ({ ...t, [v]: (t[v] ?? 0) + 1 }), {});

describePg('two instances on one PostgreSQL database', () => {
  let cluster: Cluster;

  beforeEach(async () => {
    cluster = await startCluster();
  }, 300_000);
  afterEach(async () => {
    await cluster?.stop();
  }, 30_000);

  it(`when ${TICKETS} webhooks are split across A and B and B is killed mid-delivery, then each survey arrives, none twice before the kill, and at most B's claimed rows again after it`, async () => {
    const { a, b, smtp, db } = cluster;
    const started = Date.now();
    // Both instances migrated the fresh schema at the same moment: each migration is recorded once.
    const migrations: string[] = await db('knex_migrations').pluck('name');
    expect(migrations.length).toBeGreaterThan(0);
    expect(distinct(migrations)).toBe(migrations.length);

    const answers: number[] = [];
    let bRetired = false;
    let bInFlight = 0;
    const fireWebhooks = () =>
      inParallel(TICKETS, IN_FLIGHT, async (i) => {
        const target = i % 2 === 1 && !bRetired ? b : a;
        if (target === b) bInFlight += 1;
        try {
          const payload = ticketPayload({ ticket_id: `T-cluster-${i}`, customer: { email: `customer-${i}@example.com`, name: `Customer ${i}` } });
          answers.push((await postWebhook(target, payload)).status);
        } finally {
          if (target === b) bInFlight -= 1;
        }
      });

    // Once some hundreds have arrived: stop sending webhooks to B, let it answer those it has, then SIGKILL it.
    const killBMidDelivery = async () => {
      await cluster.waitUntil(() => smtp.messages.length >= KILL_AFTER_MESSAGES, 300_000, () => `${KILL_AFTER_MESSAGES} messages, got ${smtp.messages.length}`);
      bRetired = true;
      await cluster.waitUntil(() => bInFlight === 0, 60_000, () => `B to answer its ${bInFlight} open webhooks`);
      await cluster.kill(b);
      const arrived = messageIds(smtp.messages);
      const pending = await db('outbox').where('status', 'pending').count<{ n: number }[]>({ n: '*' }).first();
      return { arrived, pendingAtKill: Number(pending?.n ?? 0) };
    };

    const [, beforeKill] = await Promise.all([fireWebhooks(), killBMidDelivery()]);

    expect(tally(answers)).toEqual({ 202: TICKETS });
    expect(beforeKill.arrived.length).toBeLessThan(TICKETS);
    expect(distinct(beforeKill.arrived)).toBe(beforeKill.arrived.length); // normal operation: none twice

    await cluster.waitForAllSent(TICKETS, 600_000);
    const surveyMessageIds: string[] = await db('surveys').pluck('message_id');
    const delivered = messageIds(smtp.messages);
    const deliveredSet = new Set(delivered);
    expect(surveyMessageIds).toHaveLength(TICKETS);
    expect(distinct(delivered)).toBe(TICKETS);
    expect(surveyMessageIds.filter((id) => !deliveredSet.has(id))).toEqual([]);

    const resent = delivered.length - distinct(delivered);
    console.log(
      `re-sent because of the kill: ${resent} (bound ${B_MAX_CLAIMED}); ${beforeKill.arrived.length} messages had arrived and ` +
        `${beforeKill.pendingAtKill} outbox rows were pending when B was killed; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(resent).toBeLessThanOrEqual(B_MAX_CLAIMED);
  }, 900_000); // safety nets: about a minute normally, many times that on a busy machine

  it('when the same ticket is posted to A and B at the same moment, 50 times, then there are 50 surveys, each pair answers once scheduled and once duplicate, and 50 emails go out', async () => {
    const { a, b, smtp, db } = cluster;
    const outcomes: string[][] = [];
    for (let i = 0; i < 50; i++) {
      const payload = ticketPayload({ ticket_id: `T-twice-${i}`, customer: { email: `twice-${i}@example.com` } });
      // Two deliveries, each signed on its own (the very same signed request twice would be a replay, answered alike).
      const now = Math.floor(Date.now() / 1000);
      const pair = await Promise.all([postWebhook(a, payload, now), postWebhook(b, payload, now - 1)]);
      expect(pair[0].body.survey_id).toBe(pair[1].body.survey_id);
      outcomes.push(pair.map((r) => `${r.status} ${r.body.status}`).sort());
    }

    expect(outcomes).toEqual(Array.from({ length: 50 }, () => ['200 duplicate', '202 scheduled']));
    expect(await db('surveys').pluck('id')).toHaveLength(50);
    await cluster.waitForAllSent(50, 120_000);
    expect(smtp.messages).toHaveLength(50);
    expect(distinct(messageIds(smtp.messages))).toBe(50);
  }, 300_000);

  it('when the same surveys are rated, changed and commented on A and B at the same moment, then the counters equal a recompute', async () => {
    const { a, b, smtp, db } = cluster;
    const SURVEYS = 60;
    const statuses: number[] = [];
    await inParallel(SURVEYS, 8, async (i) => {
      const payload = ticketPayload({
        ticket_id: `T-rated-${i}`,
        closed_at: i % 2 ? '2026-11-20T10:00:00Z' : '2026-11-21T23:30:00Z',
        customer: { email: `rater-${i}@example.com` },
        agent: { id: `a-${i % 3}`, name: `Agent ${i % 3}` },
      });
      statuses.push((await postWebhook(i % 2 ? a : b, payload)).status);
    });
    expect(tally(statuses)).toEqual({ 202: SURVEYS });
    await cluster.waitForAllSent(SURVEYS, 120_000);
    const tokens = smtp.messages.map((m) => ratingLinks(m)[0].split('/r/')[1].split('/')[0]);
    expect(distinct(tokens)).toBe(SURVEYS);

    // Each round sends A one answer and B another for every survey, all at once.
    const rounds: Array<(i: number) => [{ score?: number; comment?: string }, { score?: number; comment?: string }]> = [
      (i) => [{ score: 1 + (i % 5) }, { score: 5 - (i % 5) }],
      (i) => [{ comment: `from A ${i}` }, { score: 3, comment: `from B ${i}` }],
      (i) => [{ comment: '' }, { score: 1 + ((i + 2) % 5) }],
    ];
    const answers: number[] = [];
    for (const round of rounds) {
      const posts = tokens.flatMap((token, i) => {
        const [forA, forB] = round(i);
        return [postRating(a, token, forA), postRating(b, token, forB)];
      });
      answers.push(...(await Promise.all(posts)).map((r) => r.status));
    }
    expect(tally(answers)).toEqual({ 200: rounds.length * SURVEYS * 2 });

    const kept = await counterSnapshot(db);
    const total = (counter: string) => kept.days.reduce((sum, r) => sum + Number(r[counter]), 0);
    expect({ sent: total('sent'), responses: total('responses') }).toEqual({ sent: SURVEYS, responses: SURVEYS });
    await rebuildStats(db, 'UTC');
    expect(await counterSnapshot(db)).toEqual(kept);
  }, 300_000);
});
