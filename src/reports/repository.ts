import type { Knex } from 'knex';
import { isPostgres, toDate } from '../shared/db';
import { COUNTERS, zeroCounts, type Counts } from '../surveys/counters/ledger';
import { addDaysTo } from '../shared/period';
import { coverPeriod, ROLLUP_TABLE, SPAN_TABLE } from '../surveys/counters/rollup';

/** A report's period (local days, both ends included) and filters; `teams` limits it to a lead's teams. */
export type Scope = { from: string; to: string; team?: string; brand?: string; agentId?: string; question?: string; variant?: string; teams?: readonly string[] };

const sums = (trx: Knex.Transaction) => COUNTERS.map((c) => trx.raw('SUM(??) AS ??', [c, c]));

const toCounts = (row: Record<string, unknown>): Counts => {
  const c = zeroCounts();
  for (const k of COUNTERS) c[k] = Number(row[k] ?? 0);
  return c;
};

/** The scope's filters on `q` (`t`: the table's alias and a dot, for a query over several tables). */
function filtered(q: Knex.QueryBuilder, scope: Scope, t = '') {
  if (scope.team !== undefined) q.andWhere(`${t}team`, scope.team);
  // A lead's teams (shared/access.ts): every read of a report passes here, so none sees past them.
  if (scope.teams !== undefined) q.whereIn(`${t}team`, [...scope.teams]);
  if (scope.brand !== undefined) q.andWhere(`${t}brand`, scope.brand);
  if (scope.agentId !== undefined) q.andWhere(`${t}agent_id`, scope.agentId);
  if (scope.question !== undefined) q.andWhere(`${t}question_id`, scope.question);
  if (scope.variant !== undefined) q.andWhere(`${t}variant`, scope.variant);
  return q;
}

const scoped = (trx: Knex.Transaction, scope: Scope) => filtered(trx('agent_day_stats').whereBetween('day', [scope.from, scope.to]), scope);

/**
 * Counts per agent and team in the scope, with the last day each pair was seen (a pair can come
 * back more than once: the caller adds them up). The period is covered with the fewest years,
 * months, 7-day blocks and days (coverPeriod). Without a brand, question or variant filter they
 * come from the rollup (keyed by agent and team only: rollup.ts); with one, from the detailed
 * counters: years and blocks from agent_span_stats, months from agent_month_stats, days from agent_day_stats.
 */
export async function countsByAgentTeam(trx: Knex.Transaction, scope: Scope) {
  const select = (q: Knex.QueryBuilder, lastDay: Knex.Raw) =>
    q.groupBy('agent_id', 'team').select('agent_id', 'team', lastDay, ...sums(trx));
  const periods = coverPeriod(scope.from, scope.to);
  if (scope.brand === undefined && scope.question === undefined && scope.variant === undefined) {
    const rows = await select(filtered(trx(ROLLUP_TABLE).whereIn('period', periods), scope), trx.raw('MAX(last_day) AS last_day'));
    return rows.map(toPair);
  }
  const spans = periods.filter((p) => p.length === 4 || p.includes('/'));
  const months = periods.filter((p) => p.length === 7);
  const days = periods.filter((p) => p.length === 10);
  const rows = [
    ...(spans.length ? await select(filtered(trx(SPAN_TABLE).whereIn('period', spans), scope), trx.raw('MAX(last_day) AS last_day')) : []),
    ...(months.length ? await select(filtered(trx('agent_month_stats').whereIn('month', months), scope), trx.raw('MAX(last_day) AS last_day')) : []),
    ...(days.length ? await select(filtered(trx('agent_day_stats').whereIn('day', days), scope), trx.raw('MAX(day) AS last_day')) : []),
  ];
  return rows.map(toPair);
}

const toPair = (r: Record<string, unknown>) => ({ agentId: r.agent_id as string, team: r.team as string, lastDay: r.last_day as string, counts: toCounts(r) });

/** [from, to] as whole months (YYYY-MM, inclusive) plus the leftover day ranges at either end. */
export function splitPeriod(from: string, to: string): { months: [string, string] | null; days: Array<[string, string]> } {
  const firstFull = from.endsWith('-01') ? from.slice(0, 7) : nextMonth(from.slice(0, 7));
  const lastFull = addDaysTo(to, 1).endsWith('-01') ? to.slice(0, 7) : prevMonth(to.slice(0, 7));
  if (firstFull > lastFull) return { months: null, days: [[from, to]] };
  const days: Array<[string, string]> = [];
  if (!from.endsWith('-01')) days.push([from, addDaysTo(`${firstFull}-01`, -1)]);
  if (lastFull !== to.slice(0, 7)) days.push([`${nextMonth(lastFull)}-01`, to]);
  return { months: [firstFull, lastFull], days };
}

const nextMonth = (month: string) => addDaysTo(`${month}-28`, 7).slice(0, 7);
const prevMonth = (month: string) => addDaysTo(`${month}-01`, -1).slice(0, 7);

/** Counts per variant of the scope's question (whole months from the month counters, as above). */
export async function countsByVariant(trx: Knex.Transaction, scope: Scope & { question: string }) {
  const { months, days } = splitPeriod(scope.from, scope.to);
  const select = (q: Knex.QueryBuilder) => q.groupBy('variant').select('variant', ...sums(trx));
  const rows: Array<Record<string, unknown>> = [
    ...(months ? await select(filtered(trx('agent_month_stats').whereBetween('month', months), scope)) : []),
    ...(days.length ? await select(filtered(trx('agent_day_stats').where((w) => days.forEach(([a, b]) => w.orWhereBetween('day', [a, b]))), scope)) : []),
  ];
  const out = new Map<string, Counts>();
  for (const r of rows) {
    const counts = out.get(r.variant as string) ?? zeroCounts();
    const add = toCounts(r);
    for (const k of COUNTERS) counts[k] += add[k];
    out.set(r.variant as string, counts);
  }
  return out;
}

/** Counts per local day in the scope (days with no surveys are absent). */
export async function countsByDay(trx: Knex.Transaction, scope: Scope) {
  const rows = await scoped(trx, scope).groupBy('day').select('day', ...sums(trx));
  return rows.map((r: Record<string, unknown>) => ({ day: r.day as string, counts: toCounts(r) }));
}

export async function agentNames(trx: Knex.Transaction, ids: string[]): Promise<Map<string, string | null>> {
  const names = new Map<string, string | null>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await trx('agents').whereIn('agent_id', ids.slice(i, i + 500)).select('agent_id', 'agent_name');
    for (const r of rows) names.set(r.agent_id, r.agent_name ?? null);
  }
  return names;
}

export type RatingItem = {
  survey_id: string;
  ticket_id: string;
  agent_id: string | null;
  agent_name: string | null;
  subject: string | null;
  team: string | null;
  brand: string | null;
  closed_at: string;
  rated_at: string;
  score: number;
  comment: string | null;
  /** How this rating's agent was chosen (README "Agent credit"). */
  credited_by: string | null;
};

/** Which ratings of the scope a feed shows: these scores only, comments containing this text (any case). */
export type RatingFilter = { scores?: readonly number[]; search?: string };

/** `%`, `_` and the escape itself match literally in LIKE. */
const likeLiteral = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The current ratings of the scope (one agent's, or a whole team's feed) in the period (closed_at in [start, end)), newest rating first. */
export async function ratingsPage(
  trx: Knex.Transaction,
  scope: Scope,
  bounds: { start: Date; end: Date },
  page: { limit: number; offset: number },
  only: RatingFilter = {},
): Promise<{ total: number; items: RatingItem[] }> {
  const base = () => {
    const q = trx('surveys').where({ status: 'sent' }).whereNotNull('score').andWhere('closed_at', '>=', bounds.start).andWhere('closed_at', '<', bounds.end);
    if (only.scores?.length) q.whereIn('score', [...only.scores]);
    if (only.search) q.whereRaw("lower(comment) LIKE ? ESCAPE '\\'", [likeLiteral(only.search)]);
    return filtered(q, scope); // the one filter every read uses: the agent, the filters, a lead's teams
  };
  const counted = await base().count<{ n: number | string }[]>({ n: '*' }).first();
  type Row = { id: string; ticket_id: string; agent_id: string | null; agent_name: string | null; subject: string | null; team: string | null; brand: string | null; closed_at: unknown; rated_at: unknown; score: number; comment: string | null; credited_by: string | null };
  const rows: Row[] = await base()
    .orderBy([{ column: 'rated_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(page.limit)
    .offset(page.offset)
    .select('id', 'ticket_id', 'agent_id', 'agent_name', 'subject', 'team', 'brand', 'closed_at', 'rated_at', 'score', 'comment', 'credited_by');
  return {
    total: Number(counted?.n ?? 0),
    items: rows.map((r) => ({
      survey_id: r.id,
      ticket_id: r.ticket_id,
      agent_id: r.agent_id ?? null,
      agent_name: r.agent_name ?? null,
      subject: r.subject ?? null,
      team: r.team ?? null,
      brand: r.brand ?? null,
      closed_at: toDate(r.closed_at).toISOString(),
      rated_at: toDate(r.rated_at).toISOString(),
      score: r.score,
      comment: r.comment ?? null,
      credited_by: r.credited_by ?? null,
    })),
  };
}

/** Narrows a query joined to `surveys as s` to the surveys closed in [start, end) within the scope's filters. */
const surveysInScope = (q: Knex.QueryBuilder, scope: Scope, bounds: { start: Date; end: Date }) =>
  filtered(q.andWhere('s.closed_at', '>=', bounds.start).andWhere('s.closed_at', '<', bounds.end), scope, 's.');

/**
 * Scanner activity: per agent, the surveys (closed_at in [start, end)) with a rating that the
 * mail-scanner rules discarded. Such ratings never count; this shows where scanners are at work.
 */
export async function scannerDiscardsByAgent(trx: Knex.Transaction, scope: Scope, bounds: { start: Date; end: Date }): Promise<Map<string, number>> {
  const q = surveysInScope(trx('rating_attempts as a').join('surveys as s', 's.id', 'a.survey_id'), scope, bounds)
    .where('a.status', 'discarded')
    .whereIn('a.reason', ['scanner_burst', 'scanner_decoy']);
  const rows = await q.groupBy('s.agent_id').select('s.agent_id').countDistinct<{ agent_id: string | null; n: number | string }[]>({ n: 'a.survey_id' });
  return new Map(rows.map((r) => [r.agent_id ?? '', Number(r.n)]));
}

/** One follow-up as the reports read it: whose, when it opened, when a lead first acted, how it ended. */
export type FollowupFacts = { agentId: string; openedAt: Date; firstActionAt: Date | null; outcome: string | null };

/** The follow-ups of the surveys closed in [start, end) within the scope (read in the report's transaction). */
export async function followupsInScope(trx: Knex.Transaction, scope: Scope, bounds: { start: Date; end: Date }): Promise<FollowupFacts[]> {
  // Few surveys have a follow-up (low ratings only): read those and look their surveys up. SQLite's
  // planner would walk every survey of the period by closed_at instead (0.5 s of a 3-year report at
  // 500,000 surveys) unless CROSS JOIN fixes the order; PostgreSQL's planner weighs both with its statistics.
  const joined = isPostgres(trx) ? trx('followups as f').join('surveys as s', 's.id', 'f.survey_id') : trx('followups as f').joinRaw('CROSS JOIN surveys AS s ON s.id = f.survey_id');
  const q = surveysInScope(joined, scope, bounds);
  const rows: Array<Record<string, unknown>> = await q.select('s.agent_id', 'f.created_at', 'f.first_action_at', 'f.outcome');
  return rows.map((r) => ({ agentId: (r.agent_id as string) ?? '', openedAt: toDate(r.created_at), firstActionAt: toDate(r.first_action_at, 'nullable'), outcome: (r.outcome as string) ?? null }));
}

/** Per agent ('' for none), of the surveys closed in [start, end) within the scope: reminders sent, and responses that came after the reminder. */
export async function remindersByAgent(trx: Knex.Transaction, scope: Scope, bounds: { start: Date; end: Date }): Promise<Map<string, { reminded: number; afterReminder: number }>> {
  const rows: Array<{ agent_id: string | null; reminded: number | string; after_reminder: number | string | null }> = await surveysInScope(trx('surveys as s'), scope, bounds)
    .whereNotNull('s.reminded_at')
    .groupBy('s.agent_id')
    .select('s.agent_id', trx.raw('COUNT(*) AS reminded'), trx.raw('SUM(CASE WHEN s.score IS NOT NULL AND s.first_rated_at > s.reminded_at THEN 1 ELSE 0 END) AS after_reminder'));
  return new Map(rows.map((r) => [r.agent_id ?? '', { reminded: Number(r.reminded), afterReminder: Number(r.after_reminder ?? 0) }]));
}

/** What the filters can be set to: the teams, brands, questions, variants and agents with surveys in the months of the scope (within a lead's teams). */
export async function filterValues(trx: Knex.Transaction, scope: Scope) {
  const inMonths = () => filtered(trx('agent_month_stats').whereBetween('month', [scope.from.slice(0, 7), scope.to.slice(0, 7)]), { from: scope.from, to: scope.to, teams: scope.teams, agentId: scope.agentId });
  const distinct = async (column: string) =>
    ((await inMonths().distinct(column).orderBy(column)) as Array<Record<string, string>>).map((r) => r[column]).filter((v) => v !== '');
  const [teams, brands, questions, variants] = [await distinct('team'), await distinct('brand'), await distinct('question_id'), await distinct('variant')];
  const ids = await distinct('agent_id');
  const names = await agentNames(trx, ids);
  const agents = ids.map((id) => ({ id, name: names.get(id) ?? id })).sort((a, b) => a.name.localeCompare(b.name));
  return { teams, brands, questions, variants, agents };
}
