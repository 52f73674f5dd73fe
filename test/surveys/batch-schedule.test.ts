import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import type { ScheduleOutcome, TicketClosed } from '../../src/surveys/types';
import { rebuildStats } from '../../src/surveys/counters/rebuild';

/**
 * Webhooks that arrive together are decided and written in one transaction (group commit). The
 * oracle: the same tickets sent one at a time, each waiting for the last, to a second instance on
 * its own database. Every answer, survey, outbox row and counter must come out the same, also
 * where tickets of one batch decide each other (duplicates, throttling, a customer who is an
 * agent on an earlier ticket of the batch).
 */
describe('scheduling many webhooks at once', () => {
  const clock = manualClock(new Date('2026-11-20T12:00:00Z'));
  const env = { SURVEY_THROTTLE_DAYS: '30', SURVEY_SAMPLE_RATE: '0.8', INTERNAL_DOMAINS: 'corp.example' };
  let together: TestApp;
  let oneByOne: TestApp;
  beforeEach(async () => {
    together = await bootApp(env, clock);
    oneByOne = await bootApp(env, clock);
  });
  afterEach(async () => {
    await together.close();
    await oneByOne.close();
  });

  /** A seeded stream of tickets drawn from small pools, so that they collide often. */
  function tickets(seed: number, count: number): TicketClosed[] {
    let state = seed;
    const next = (n: number) => {
      // mulberry32
      state = (state + 0x6d2b79f5) | 0;
      let x = Math.imul(state ^ (state >>> 15), 1 | state);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) % n;
    };
    const customers = ['ann@example.com', 'BOB@example.com', 'cy@example.org', 'dee@corp.example', 'opted@example.com', 'ada@support.example', 'eve@example.net'];
    const agents = [
      { id: 'a-1', name: 'Ada', email: 'ada@support.example' },
      { id: 'a-2', name: 'Bo', email: 'Eve@Example.net' },
      { id: 'a-3', name: 'Cy' },
    ];
    return Array.from({ length: count }, () => ({
      source: next(5) === 0 ? 'zendesk' : 'generic',
      ticketId: `T-${next(40)}`,
      closedAt: new Date(Date.UTC(2026, 10, 1 + next(19), next(24))),
      customer: { email: customers[next(customers.length)] },
      agent: next(8) === 0 ? undefined : agents[next(agents.length)],
      team: ['billing', 'tech'][next(2)],
      tags: next(10) === 0 ? ['spam'] : [],
    }));
  }

  /** Outcomes with survey ids replaced by the index of the ticket that created the survey. */
  function byCreator(outcomes: ScheduleOutcome[]) {
    const creator = new Map<string, number>();
    outcomes.forEach((o, i) => o.status !== 'duplicate' && creator.set(o.surveyId, i));
    return outcomes.map((o) => ({ ...o, surveyId: creator.get(o.surveyId) ?? 'earlier' }));
  }

  const counters = async (t: TestApp) => ({
    days: await t.db('agent_day_stats').orderBy(['day', 'agent_id', 'team', 'brand', 'question_id', 'variant']).select('*'),
    months: await t.db('agent_month_stats').orderBy(['month', 'agent_id', 'team', 'brand', 'question_id', 'variant']).select('*'),
    rollup: await t.db('agent_rollup').orderBy(['period', 'agent_id', 'team']).select('*'),
    agents: await t.db('agents').orderBy('agent_id').select('*'),
  });
  const surveys = async (t: TestApp) =>
    (await t.db('surveys').orderBy(['source', 'ticket_id', 'status']).select('source', 'ticket_id', 'customer_email', 'agent_id', 'status', 'suppression_reason')).map((r) => ({ ...r }));

  it.each([1, 2, 3])('seed %i: 150 tickets sent together give the answers, surveys and counters of the same tickets sent one by one', async (seed) => {
    for (const t of [together, oneByOne]) await t.db('opt_outs').insert({ email_hash: t.services.addressHash('opted@example.com'), created_at: clock.now() });
    const list = tickets(seed, 150);
    const observe = together.services.metrics.writeBatchSize;
    const before = (await observe.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;

    const concurrent = await Promise.all(list.map((ticket) => together.services.surveys.scheduleSurvey(ticket)));
    const sequential: ScheduleOutcome[] = [];
    for (const ticket of list) sequential.push(await oneByOne.services.surveys.scheduleSurvey(ticket));

    const transactions = ((await observe.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0) - before;
    expect(transactions).toBeLessThan(10); // they did share transactions: 150 webhooks in a handful
    expect(byCreator(concurrent)).toEqual(byCreator(sequential));
    const statuses = new Set(concurrent.map((o) => (o.status === 'suppressed' ? o.reason : o.status)));
    // The stream exercises every decision that depends on earlier tickets of the same batch.
    for (const expected of ['scheduled', 'duplicate', 'throttled', 'customer_is_agent', 'opted_out', 'internal_domain', 'no_agent']) expect(statuses).toContain(expected);
    expect(await surveys(together)).toEqual(await surveys(oneByOne));
    expect(await together.count('outbox')).toBe(await oneByOne.count('outbox'));
    expect(await counters(together)).toEqual(await counters(oneByOne));

    // And both equal a recompute from the surveys.
    const kept = await counters(together);
    await rebuildStats(together.db, together.config.reportTz);
    const rebuilt = await counters(together);
    const nonZero = (rows: Record<string, unknown>[]) => rows.filter((r) => Object.entries(r).some(([k, v]) => typeof v === 'number' && v !== 0 && !['day', 'month'].includes(k)));
    expect(nonZero(kept.days)).toEqual(nonZero(rebuilt.days));
    expect(kept.agents).toEqual(rebuilt.agents);
  });
});
