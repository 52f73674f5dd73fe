import { SUPPRESSION_REASONS } from '../eligibility';
import type { Knex } from 'knex';
import type { Db } from '../../shared/db';
import { isPostgres, toDate } from '../../shared/db';
import { localDay } from '../../shared/period';
import { insertRows, together } from '../../shared/statements';
import { deriveRollupSql, periodsOf, ROLLUP_TABLE } from './rollup';

/** What reports need to know of one survey. */
export type SurveyFacts = {
  closedAt: Date;
  agentId: string | null;
  agentName?: string | null;
  team: string | null;
  brand: string | null;
  questionId: string;
  variant: string | null;
  status: string;
  suppressionReason?: string | null;
  score: number | null;
  comment: string | null;
};

const REASON_COUNTERS = SUPPRESSION_REASONS.map((r) => `suppressed_${r}` as const);
export const COUNTERS = [
  ...(['sent', 'suppressed', 'failed', 'cancelled', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments'] as const),
  ...REASON_COUNTERS,
];
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

const ZERO = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counts;
/** A fresh all-zero set of counters (a spread copy: six times faster than building it, and the ledger builds many). */
export const zeroCounts = (): Counts => ({ ...ZERO });

/**
 * The one definition of how a survey counts. A response is a delivered survey with a current
 * score; only delivered surveys are in the denominator; suppressed and failed are counted apart.
 */
export function contribution(s: Pick<SurveyFacts, 'status' | 'suppressionReason' | 'score' | 'comment'>): Counts {
  const c = zeroCounts();
  if (s.status === 'suppressed') {
    c.suppressed = 1;
    const reason = `suppressed_${s.suppressionReason}`;
    if ((REASON_COUNTERS as readonly string[]).includes(reason)) c[reason as Counter] = 1;
  }
  if (s.status === 'failed') c.failed = 1;
  if (s.status === 'cancelled') c.cancelled = 1;
  if (s.status !== 'sent') return c;
  c.sent = 1;
  if (s.score === null) return c;
  c.responses = 1;
  c[`score_${s.score}` as Counter] = 1;
  if (s.comment) c.comments = 1;
  return c;
}

/** The agent_day_stats key of a survey: its local closing day, who gets credit, and what was asked. */
export const statsKey = (s: SurveyFacts, tz: string) => ({
  day: localDay(s.closedAt, tz),
  agent_id: s.agentId ?? '',
  team: s.team ?? '',
  brand: s.brand ?? '',
  question_id: s.questionId,
  variant: s.variant ?? '',
});

const KEY_COLUMNS = ['agent_id', 'team', 'brand', 'question_id', 'variant'] as const;
const keyId = (period: string, k: Record<(typeof KEY_COLUMNS)[number], string>) => [period, ...KEY_COLUMNS.map((c) => k[c])].join('\u0000');

export const SURVEY_FACT_COLUMNS = ['closed_at', 'agent_id', 'team', 'brand', 'question_id', 'variant', 'status', 'suppression_reason', 'score', 'comment'];

export const toFacts = (r: Record<string, unknown>): SurveyFacts => ({
  closedAt: toDate(r.closed_at),
  agentId: (r.agent_id as string) ?? null,
  team: (r.team as string) ?? null,
  brand: (r.brand as string) ?? null,
  questionId: r.question_id as string,
  variant: (r.variant as string) ?? null,
  status: r.status as string,
  suppressionReason: (r.suppression_reason as string) ?? null,
  score: (r.score as number) ?? null,
  comment: (r.comment as string) ?? null,
});

export type Ledger = ReturnType<typeof createLedger>;

/** One survey's change, as the ledger counts it: from `before` (null: a new survey) to `after`. */
export type SurveyChange = { before: SurveyFacts | null; after: SurveyFacts };

type CounterRow = { key: Record<string, string>; last_day: string; counts: Counts };

/** Adds `delta` to the row of `id` in `rows`, creating it; keeps the latest day seen. */
function addTo(rows: Map<string, CounterRow>, id: string, key: Record<string, string>, day: string, delta: Counts) {
  const row = rows.get(id) ?? { key, last_day: day, counts: zeroCounts() };
  for (const c of COUNTERS) row.counts[c] += delta[c];
  if (day > row.last_day) row.last_day = day;
  rows.set(id, row);
}

/** The rows to upsert as value lists in `columns` order, in key order (so two instances writing overlapping keys lock them in the same order). */
const upsertRows = (rows: Map<string, CounterRow>, columns: readonly string[]) =>
  [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { key, counts, last_day }]) => columns.map((c) => (c === 'last_day' ? last_day : c in key ? key[c] : counts[c as Counter])));

/** Counter upserts as plain SQL (shared/statements.ts): each adds the new row's counts to the stored ones. */
const upsert = (table: string, keyColumns: readonly string[], lastDay: boolean) =>
  `ON CONFLICT (${keyColumns.map((c) => `"${c}"`).join(', ')}) DO UPDATE SET ` +
  [
    ...COUNTERS.map((c) => `"${c}" = "${table}"."${c}" + excluded."${c}"`),
    ...(lastDay ? [`"last_day" = CASE WHEN excluded."last_day" > "${table}"."last_day" THEN excluded."last_day" ELSE "${table}"."last_day" END`] : []),
  ].join(', ');
const DAY_COLUMNS = ['day', ...KEY_COLUMNS, ...COUNTERS];
const DAY_UPSERT = upsert('agent_day_stats', ['day', ...KEY_COLUMNS], false);
const MONTH_COLUMNS = ['month', ...KEY_COLUMNS, 'last_day', ...COUNTERS];
const MONTH_UPSERT = upsert('agent_month_stats', ['month', ...KEY_COLUMNS], true);
const ROLLUP_COLUMNS = ['period', 'agent_id', 'team', 'last_day', ...COUNTERS];
const ROLLUP_UPSERT = upsert(ROLLUP_TABLE, ['period', 'agent_id', 'team'], true);

/**
 * Keeps agent_day_stats, agent_month_stats and agent_rollup equal to a recompute from the surveys table. Every write that changes
 * a survey's status, score or comment calls `record` (or `recordMany` for a batch) inside its own transaction, so the
 * counters and the rows commit or roll back together.
 */
export function createLedger(tz: string) {
  /** Sums the changes per counter row, then writes each table in one statement: a batch of 50 surveys costs what one does. */
  async function recordMany(trx: Knex.Transaction, changes: readonly SurveyChange[]): Promise<void> {
    const days = new Map<string, CounterRow>();
    const months = new Map<string, CounterRow>();
    const rollup = new Map<string, CounterRow>();
    const agents = new Map<string, { name: string | null; closedAt: Date }>();
    for (const { before, after } of changes) {
      const next = contribution(after);
      const prev = before ? contribution(before) : zeroCounts();
      const delta = zeroCounts();
      for (const c of COUNTERS) delta[c] = next[c] - prev[c];
      if (!before && after.agentId) {
        const seen = agents.get(after.agentId);
        if (!seen || seen.closedAt <= after.closedAt) agents.set(after.agentId, { name: after.agentName ?? null, closedAt: after.closedAt });
      }
      // A change that moves no counter writes no row, as when each change is recorded alone: the rows,
      // their sums and their last days are then exactly those of recording the changes one by one.
      if (COUNTERS.every((c) => delta[c] === 0)) continue;
      const { day, ...who } = statsKey(after, tz);
      addTo(days, keyId(day, who), { day, ...who }, day, delta);
      addTo(months, keyId(day.slice(0, 7), who), { month: day.slice(0, 7), ...who }, day, delta);
      for (const period of periodsOf(day)) {
        addTo(rollup, [period, who.agent_id, who.team].join('\u0000'), { period, agent_id: who.agent_id, team: who.team }, day, delta);
      }
    }
    // Four tables, each row written once: the statements go together (shared/statements.ts).
    await together(trx, [
      () => insertRows(trx, 'agent_day_stats', DAY_COLUMNS, upsertRows(days, DAY_COLUMNS), DAY_UPSERT),
      () => insertRows(trx, 'agent_month_stats', MONTH_COLUMNS, upsertRows(months, MONTH_COLUMNS), MONTH_UPSERT),
      () => insertRows(trx, ROLLUP_TABLE, ROLLUP_COLUMNS, upsertRows(rollup, ROLLUP_COLUMNS), ROLLUP_UPSERT),
      () => (agents.size > 0 ? rememberAgents(trx, agents) : undefined),
    ]);
  }

  return {
    tz,
    recordMany,

    /** Applies the change from `before` (null: a new survey) to `after`. */
    record: (trx: Knex.Transaction, before: SurveyFacts | null, after: SurveyFacts): Promise<void> => recordMany(trx, [{ before, after }]),

    /**
     * The survey's facts as stored now, read inside the caller's transaction. On PostgreSQL the row
     * stays locked until it ends, so two instances changing one survey at once count it once each
     * in turn, not both from the same "before".
     */
    async read(trx: Knex.Transaction, surveyId: string): Promise<SurveyFacts> {
      const query = trx('surveys').where({ id: surveyId }).first(SURVEY_FACT_COLUMNS);
      const row = await (isPostgres(trx) ? query.forUpdate() : query);
      if (!row) throw new Error(`survey ${surveyId} not found`);
      return toFacts(row);
    },
  };
}

/** Reports show an agent by the name on their most recently closed ticket. */
async function rememberAgents(trx: Knex.Transaction, agents: Map<string, { name: string | null; closedAt: Date }>) {
  // One upsert: concurrent first surveys of a new agent (several instances) cannot collide.
  const rows = [...agents].sort(([a], [b]) => (a < b ? -1 : 1)).map(([agentId, a]) => [agentId, a.name, a.closedAt]);
  await insertRows(trx, 'agents', ['agent_id', 'agent_name', 'last_closed_at'], rows, AGENT_UPSERT);
}

const AGENT_UPSERT =
  'ON CONFLICT ("agent_id") DO UPDATE SET "agent_name" = excluded."agent_name", "last_closed_at" = excluded."last_closed_at" WHERE "agents"."last_closed_at" <= excluded."last_closed_at"';

const REBUILD_BATCH = 20_000;

/**
 * Recomputes agent_day_stats, agent_month_stats, agent_rollup and agents from the surveys table in one transaction, for `tz`.
 * Used when REPORT_TZ changes, by `npm run stats:rebuild`, and by tests that prove the
 * incrementally kept counters equal a recompute.
 */
export async function rebuildStats(db: Db, tz: string): Promise<{ surveys: number; rows: number }> {
  return db.transaction(async (trx) => {
    const totals = new Map<string, { key: ReturnType<typeof statsKey>; counts: Counts }>();
    const agents = new Map<string, { name: string | null; closedAt: Date }>();
    let surveys = 0;
    let after = '';
    for (;;) {
      const rows = await trx('surveys')
        .where('id', '>', after)
        .orderBy('id')
        .limit(REBUILD_BATCH)
        .select('id', 'agent_name', ...SURVEY_FACT_COLUMNS);
      if (rows.length === 0) break;
      after = rows[rows.length - 1].id;
      surveys += rows.length;
      for (const row of rows) {
        const facts = toFacts(row);
        const key = statsKey(facts, tz);
        const id = keyId(key.day, key);
        const entry = totals.get(id) ?? { key, counts: zeroCounts() };
        const c = contribution(facts);
        for (const k of COUNTERS) entry.counts[k] += c[k];
        totals.set(id, entry);
        if (facts.agentId) {
          const seen = agents.get(facts.agentId);
          if (!seen || seen.closedAt <= facts.closedAt) agents.set(facts.agentId, { name: row.agent_name ?? null, closedAt: facts.closedAt });
        }
      }
    }
    // Only keys with counts get rows, as when the ledger keeps them (it writes no zero deltas).
    for (const [id, { counts }] of totals) if (COUNTERS.every((c) => counts[c] === 0)) totals.delete(id);
    const months = new Map<string, Record<string, unknown> & Counts & { last_day: string }>();
    for (const { key, counts } of totals.values()) {
      const { day, ...who } = key;
      const id = keyId(day.slice(0, 7), who);
      const entry = months.get(id) ?? { month: day.slice(0, 7), last_day: day, ...who, ...zeroCounts() };
      for (const k of COUNTERS) entry[k] += counts[k];
      if (day > entry.last_day) entry.last_day = day;
      months.set(id, entry);
    }
    for (const table of ['agent_day_stats', 'agent_month_stats', ROLLUP_TABLE, 'agents']) await trx(table).delete();
    const statRows = [...totals.values()].map(({ key, counts }) => ({ ...key, ...counts }));
    await db.batchInsert('agent_day_stats', statRows, 200).transacting(trx);
    await db.batchInsert('agent_month_stats', [...months.values()], 200).transacting(trx);
    for (const sql of deriveRollupSql(COUNTERS)) await trx.raw(sql);
    const agentRows = [...agents].map(([agent_id, a]) => ({ agent_id, agent_name: a.name, last_closed_at: a.closedAt }));
    await db.batchInsert('agents', agentRows, 200).transacting(trx);
    await trx('report_meta').insert({ key: 'stats_tz', value: tz }).onConflict('key').merge();
    return { surveys, rows: statRows.length };
  });
}

/** Rebuilds the counters when they were kept for another time zone (or never built). */
export async function ensureStats(db: Db, tz: string): Promise<{ from: string | null; surveys: number; rows: number } | null> {
  const meta = await db('report_meta').where({ key: 'stats_tz' }).first('value');
  if (meta?.value === tz) return null;
  return { from: meta?.value ?? null, ...(await rebuildStats(db, tz)) };
}
