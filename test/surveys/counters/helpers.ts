import type { Db } from '../../../src/shared/db';
import { bootApp, manualClock, type TestApp } from '../../helpers/boot';
import { COMMENTS, createSeeder, makeRng, SCORE_WEIGHTS, type SeededSurvey } from '../../reports/seed';

/* Counter snapshots, the counts a seed's own record implies, and random traffic: for the ledger and rebuild tests. */

export const COUNTERS = ['sent', 'suppressed', 'failed', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments'] as const;
export type Row = Record<string, string | number>;

export const nonZero = (r: Row) => COUNTERS.some((c) => r[c] !== 0);

/** Every counter row with at least one non-zero counter, whatever its key columns (a rebuild also writes all-zero rows for scheduled surveys). */
export async function counters(db: Db, table: 'agent_day_stats' | 'agent_month_stats' | 'agent_span_stats' | 'agent_rollup'): Promise<Row[]> {
  const rows: Row[] = await db(table).select('*');
  const id = (r: Row) => JSON.stringify(Object.entries(r).filter(([k]) => !(COUNTERS as readonly string[]).includes(k)).sort());
  return rows.filter(nonZero).sort((a, b) => (id(a) < id(b) ? -1 : 1));
}

export const snapshot = async (db: Db) => ({
  days: await counters(db, 'agent_day_stats'),
  months: await counters(db, 'agent_month_stats'),
  spans: await counters(db, 'agent_span_stats'),
  rollup: await counters(db, 'agent_rollup'),
  agents: await db('agents').orderBy('agent_id').select('agent_id', 'agent_name', 'last_closed_at'),
});

/** Counter rows summed over the keys the seed knows (period, agent, team, brand), in key order. */
export function byKnownKey(rows: Row[], period: 'day' | 'month'): Row[] {
  const sums = new Map<string, Row>();
  for (const r of rows) {
    const key = { [period]: r[period], agent_id: r.agent_id, team: r.team, brand: r.brand };
    const id = Object.values(key).join('\u0000');
    const sum = sums.get(id) ?? { ...key, ...Object.fromEntries(COUNTERS.map((c) => [c, 0])) };
    for (const c of COUNTERS) (sum[c] as number) += r[c] as number;
    sums.set(id, sum);
  }
  const order = (r: Row) => [r[period], r.agent_id, r.team, r.brand].join('\u0000');
  return [...sums.values()].filter(nonZero).sort((a, b) => (order(a) < order(b) ? -1 : 1));
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();
export function dayIn(instant: Date, tz: string): string {
  let f = dayFormats.get(tz);
  if (!f) dayFormats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}

/** The counters the seed's own record implies, by local day or month, without zero rows. */
export function expectedCounters(surveys: Iterable<SeededSurvey>, tz: string, period: 'day' | 'month'): Row[] {
  const rows = new Map<string, Row>();
  for (const s of surveys) {
    if (s.status === 'scheduled') continue;
    const day = dayIn(s.closedAt, tz);
    const key = { [period]: period === 'day' ? day : day.slice(0, 7), agent_id: s.agentId ?? '', team: s.team ?? '', brand: s.brand ?? '' };
    const id = Object.values(key).join('\u0000');
    const row = rows.get(id) ?? { ...key, ...Object.fromEntries(COUNTERS.map((c) => [c, 0])) };
    row[s.status] = (row[s.status] as number) + 1;
    if (s.status === 'sent' && s.score !== null) {
      (row.responses as number)++;
      (row[`score_${s.score}`] as number)++;
      if (s.comment) (row.comments as number)++;
    }
    rows.set(id, row);
  }
  const order = (r: Row) => [r[period], r.agent_id, r.team, r.brand].join('\u0000');
  return [...rows.values()].sort((a, b) => (order(a) < order(b) ? -1 : 1));
}

/** Schedules, sends, fails, rates, changes and comments in a random order, as traffic would. */
/** A seeded stream of random survey traffic on `t`: `step()` schedules, sends, fails, rates, changes or comments one survey. */
export function trafficOf(t: TestApp, clock: ReturnType<typeof manualClock>, seed: number) {
  const rng = makeRng(seed);
  const seeder = createSeeder(t, clock, rng);
  const all = () => [...seeder.surveys.values()];
  async function step() {
    const roll = rng.next();
    const scheduled = all().filter((s) => s.status === 'scheduled');
    const rateable = all().filter((s) => s.status !== 'suppressed'); // an email went out: even a not-yet-marked or failed one can be clicked
    const rated = rateable.filter((s) => s.score !== null);
    if (roll < 0.3 || scheduled.length === 0) await seeder.schedule();
    else if (roll < 0.5) await seeder.send(rng.pick(scheduled));
    else if (roll < 0.56) await seeder.fail(rng.pick(scheduled));
    else if (roll < 0.74 || rated.length === 0) await seeder.rate(rng.pick(rateable), { score: rng.pick(SCORE_WEIGHTS) });
    else if (roll < 0.84) await seeder.rate(rng.pick(rated), { score: rng.int(1, 5) });
    else if (roll < 0.94) await seeder.rate(rng.pick(rated), { comment: rng.pick(COMMENTS) });
    else await seeder.rate(rng.pick(rated), { comment: '' });
  }
  return { seeder, step };
}

/** Schedules, sends, fails, rates, changes and comments in a random order, as traffic would. */
export async function randomTraffic(t: TestApp, clock: ReturnType<typeof manualClock>, seed: number, steps: number) {
  const { seeder, step } = trafficOf(t, clock, seed);
  for (let i = 0; i < steps; i++) await step();
  for (let i = 0; i < 3; i++) await seeder.schedule(); // and a few still waiting to be sent
  return seeder;
}

export const bootFor = async (tz: string) => {
  const clock = manualClock(new Date('2026-06-01T00:00:00Z'));
  const t = await bootApp({ REPORT_TZ: tz, TOKEN_TTL_DAYS: '365', RATING_CHANGE_DAYS: '365' }, clock);
  return { t, clock };
};
