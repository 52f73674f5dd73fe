import { SUPPRESSION_REASONS } from '../eligibility';
import type { Knex } from 'knex';
import { isPostgres, toDate } from '../../shared/db';
import { localDay } from '../../shared/period';
import { insertRows, together } from '../../shared/statements';
import { addingOnConflict, periodsOf, ROLLUP_TABLE, SPAN_TABLE } from './rollup';
import { NEXT, readForWrite } from './state';

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

/**
 * `contribution` as SQL conditions over a surveys row, for counting many surveys at once (a rebuild's
 * GROUP BY, rebuild.ts). The ledger and rebuild tests hold the two equal on random traffic.
 */
export const CONTRIBUTION_SQL = Object.fromEntries(
  COUNTERS.map((c) => {
    if (c === 'sent' || c === 'suppressed' || c === 'failed' || c === 'cancelled') return [c, `status = '${c}'`];
    if (c === 'responses') return [c, "status = 'sent' AND score IS NOT NULL"];
    if (c === 'comments') return [c, "status = 'sent' AND score IS NOT NULL AND comment IS NOT NULL AND comment <> ''"];
    if (c.startsWith('score_')) return [c, `status = 'sent' AND score = ${Number(c.slice('score_'.length))}`];
    return [c, `status = 'suppressed' AND suppression_reason = '${c.slice('suppressed_'.length)}'`];
  }),
) as Record<Counter, string>;

/** The agent_day_stats key of a survey: its local closing day, who gets credit, and what was asked. */
export const statsKey = (s: SurveyFacts, tz: string) => ({
  day: localDay(s.closedAt, tz),
  agent_id: s.agentId ?? '',
  team: s.team ?? '',
  brand: s.brand ?? '',
  question_id: s.questionId,
  variant: s.variant ?? '',
});

export const KEY_COLUMNS = ['agent_id', 'team', 'brand', 'question_id', 'variant'] as const;
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
const upsert = (table: string, keyColumns: readonly string[], lastDay: boolean) => addingOnConflict(table, keyColumns, COUNTERS, lastDay);
const DAY_COLUMNS = ['day', ...KEY_COLUMNS, ...COUNTERS];
const MONTH_COLUMNS = ['month', ...KEY_COLUMNS, 'last_day', ...COUNTERS];
const ROLLUP_COLUMNS = ['period', 'agent_id', 'team', 'last_day', ...COUNTERS];
const SPAN_COLUMNS = ['period', ...KEY_COLUMNS, 'last_day', ...COUNTERS];
/** The four counter tables with `suffix` (the live ones, or a rebuild's `_next`), their columns and upserts. */
const tablesOf = (suffix: string) => ({
  day: { name: `agent_day_stats${suffix}`, columns: DAY_COLUMNS, upsert: upsert(`agent_day_stats${suffix}`, ['day', ...KEY_COLUMNS], false) },
  month: { name: `agent_month_stats${suffix}`, columns: MONTH_COLUMNS, upsert: upsert(`agent_month_stats${suffix}`, ['month', ...KEY_COLUMNS], true) },
  span: { name: `${SPAN_TABLE}${suffix}`, columns: SPAN_COLUMNS, upsert: upsert(`${SPAN_TABLE}${suffix}`, ['period', ...KEY_COLUMNS], true) },
  rollup: { name: `${ROLLUP_TABLE}${suffix}`, columns: ROLLUP_COLUMNS, upsert: upsert(`${ROLLUP_TABLE}${suffix}`, ['period', 'agent_id', 'team'], true) },
});
const TABLES = { '': tablesOf(''), [NEXT]: tablesOf(NEXT) };

/** Who gets credit and what was asked: the key columns of a counter row besides its period. */
type CounterKey = Omit<ReturnType<typeof statsKey>, 'day'>;

/** Counter deltas summed per row of the four counter tables, then written with one statement per table: a batch of 50 surveys costs what one does. */
function createTally() {
  const days = new Map<string, CounterRow>();
  const months = new Map<string, CounterRow>();
  const spans = new Map<string, CounterRow>();
  const rollup = new Map<string, CounterRow>();
  return {
    /** Adds `delta` on local day `day` of `who`. */
    add(day: string, who: CounterKey, delta: Counts) {
      addTo(days, keyId(day, who), { day, ...who }, day, delta);
      addTo(months, keyId(day.slice(0, 7), who), { month: day.slice(0, 7), ...who }, day, delta);
      const [year, , block] = periodsOf(day);
      for (const period of [year, block]) addTo(spans, keyId(period, who), { period, ...who }, day, delta);
      for (const period of periodsOf(day)) {
        addTo(rollup, [period, who.agent_id, who.team].join('\u0000'), { period, agent_id: who.agent_id, team: who.team }, day, delta);
      }
    },
    /** Thunks writing the four tables (`_next` ones with NEXT), for `together`. */
    writes(trx: Knex.Transaction, suffix: '' | typeof NEXT = '') {
      const t = TABLES[suffix];
      return [days, months, spans, rollup].map((rows, i) => {
        const table = [t.day, t.month, t.span, t.rollup][i];
        return () => insertRows(trx, table.name, table.columns, upsertRows(rows, table.columns), table.upsert);
      });
    },
  };
}

/** What `change` moves, counter by counter. */
function deltaOf({ before, after }: SurveyChange): Counts {
  const next = contribution(after);
  const prev = before ? contribution(before) : zeroCounts();
  const delta = zeroCounts();
  for (const c of COUNTERS) delta[c] = next[c] - prev[c];
  return delta;
}

const moves = (delta: Counts) => COUNTERS.some((c) => delta[c] !== 0);

/** Adds the changes to a tally in `tz`. A change never moves a survey's key (its closing, agent, team, brand or question). */
function tallied(changes: readonly SurveyChange[], tz: string) {
  const tally = createTally();
  for (const change of changes) {
    const delta = deltaOf(change);
    // A change that moves no counter (a new scheduled survey) writes no row; its local day is not worked out either.
    if (!moves(delta)) continue;
    const { day, ...who } = statsKey(change.after, tz);
    tally.add(day, who, delta);
  }
  return tally;
}

/**
 * Keeps agent_day_stats, agent_month_stats, agent_span_stats and agent_rollup equal to a recompute from the surveys table. Every write that changes
 * a survey's status, score or comment calls `record` (or `recordMany` for a batch) inside its own transaction, so the
 * counters and the rows commit or roll back together. The counters are kept in the zone they were built for
 * (report_meta `stats_tz`; `tz`, REPORT_TZ, until the first build); while a rebuild runs (rebuild.ts), the changes of
 * surveys its scan has passed also go into its `_next` tables, in its zone.
 */
export function createLedger(tz: string) {
  async function recordMany(trx: Knex.Transaction, changes: readonly SurveyChange[]): Promise<void> {
    const agents = new Map<string, { name: string | null; closedAt: Date }>();
    for (const { before, after } of changes) {
      if (before || !after.agentId) continue;
      const seen = agents.get(after.agentId);
      if (!seen || seen.closedAt <= after.closedAt) agents.set(after.agentId, { name: after.agentName ?? null, closedAt: after.closedAt });
    }
    const counted = async () => {
      // Changes that move no counter (a batch of new scheduled surveys) write no counter row, in
      // any zone: the counter state is not read for them, a trip fewer in the webhooks' transactions.
      if (!changes.some((change) => moves(deltaOf(change)))) return;
      const state = await readForWrite(trx);
      const writes = tallied(changes, state.tz ?? tz).writes(trx);
      const cursor = state.rebuild?.cursor;
      const scanned = cursor ? changes.filter((c) => c.after.closedAt < cursor) : [];
      if (scanned.length) writes.push(...tallied(scanned, state.rebuild!.tz).writes(trx, NEXT));
      // Each table's rows written once: the statements go together (shared/statements.ts).
      await together(trx, writes);
    };
    // The agents table does not depend on the zone: its upsert need not wait for the state.
    await together(trx, [counted, () => (agents.size > 0 ? rememberAgents(trx, agents) : undefined)]);
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
