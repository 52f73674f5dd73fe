import { followupFigures, followupFiguresByAgent, type FollowupFigures } from './followups';
import { reminderFigures, type ReminderFigures } from './reminders';
import { readTransaction, type Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { COUNTERS, zeroCounts, type Counts } from '../surveys/counters/ledger';
import { openCounters } from '../surveys/counters/state';
import { addDaysTo, bucketStart, buckets, startOfDay, type Interval } from '../shared/period';
import * as repo from './repository';
import { summarize, type Summary } from './stats';
import { twoProportionTest } from './significance';
import type { SurveyDefinitions } from '../surveys/definitions';
import { findQuestion } from '../surveys/questions';
import { REPORTS, timed, type Metrics } from '../shared/metrics';
import type { Knex } from 'knex';
import { AppError } from '../shared/errors';

/** `scanner_discarded`: surveys whose rating links a mail scanner used; those ratings never count. */
export type AgentRow = { agent_id: string | null; agent_name: string | null; team: string | null; scanner_discarded: number } & Summary & FollowupFigures & ReminderFigures;

export type SortKey = 'agent_name' | 'team' | 'surveys_sent' | 'responses' | 'response_rate' | 'csat' | 'csat_ci_low' | 'avg_score' | 'comments';

function add(into: Counts, from: Counts) {
  for (const k of COUNTERS) into[k] += from[k];
}

/** Nulls sort last whichever the direction; ties fall back to responses, then agent id, so the order is stable. */
export function sortAgents(rows: AgentRow[], key: SortKey, dir: 'asc' | 'desc'): AgentRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  const cmp = (a: unknown, b: unknown) => {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    return (typeof a === 'string' ? a.localeCompare(b as string) : (a as number) - (b as number)) * sign;
  };
  return [...rows].sort((a, b) => cmp(a[key], b[key]) || b.responses - a.responses || String(a.agent_id).localeCompare(String(b.agent_id)));
}

export type ReportService = ReturnType<typeof createReportService>;

/**
 * Every report reads inside one transaction, so its numbers come from one consistent
 * snapshot; an error anywhere rejects the whole report and nothing partial is rendered.
 */
export function createReportService(deps: { db: Db; clock: Clock; tz: string; minSample: number; definitions: SurveyDefinitions; metrics?: Metrics }) {
  const { db, tz, minSample } = deps;
  /** One report's read transaction, timed into closeloop_report_duration_seconds. */
  const read = <T>(report: (typeof REPORTS)[number], work: (trx: Knex.Transaction) => Promise<T>) => {
    const counted = () => readTransaction(db, async (trx) => (await openCounters(trx, tz), work(trx)));
    return deps.metrics ? timed(deps.metrics.reportDuration, { report }, counted) : counted();
  };
  const header = (scope: repo.Scope) => ({ from: scope.from, to: scope.to, tz, generated_at: deps.clock.now().toISOString() });

  async function agentRows(trx: Parameters<typeof repo.countsByAgentTeam>[0], scope: repo.Scope) {
    const pairs = await repo.countsByAgentTeam(trx, scope);
    const byAgent = new Map<string, { counts: Counts; team: string; lastDay: string }>();
    const overall = zeroCounts();
    for (const p of pairs) {
      add(overall, p.counts);
      const agent = byAgent.get(p.agentId) ?? { counts: zeroCounts(), team: p.team, lastDay: p.lastDay };
      add(agent.counts, p.counts);
      if (p.lastDay > agent.lastDay || (p.lastDay === agent.lastDay && p.team > agent.team)) Object.assign(agent, { team: p.team, lastDay: p.lastDay });
      byAgent.set(p.agentId, agent);
    }
    const names = await repo.agentNames(trx, [...byAgent.keys()].filter(Boolean));
    const bounds = { start: startOfDay(scope.from, tz), end: startOfDay(addDaysTo(scope.to, 1), tz) };
    const scanner = await repo.scannerDiscardsByAgent(trx, scope, bounds);
    const followups = await repo.followupsInScope(trx, scope, bounds);
    const followed = followupFiguresByAgent(followups);
    const none = followupFigures([]);
    const reminded = await repo.remindersByAgent(trx, scope, bounds);
    const rows: AgentRow[] = [...byAgent].map(([id, a]) => ({
      agent_id: id || null,
      agent_name: id ? names.get(id) ?? null : null,
      team: a.team || null,
      ...summarize(a.counts, minSample),
      scanner_discarded: scanner.get(id) ?? 0,
      ...(followed.get(id) ?? none),
      ...reminderFigures(a.counts.sent, a.counts.responses, reminded.get(id)),
    }));
    const scannerTotal = [...scanner.values()].reduce((sum, n) => sum + n, 0);
    const allReminded = [...reminded.values()].reduce((sum, r) => ({ reminded: sum.reminded + r.reminded, afterReminder: sum.afterReminder + r.afterReminder }), { reminded: 0, afterReminder: 0 });
    return {
      overall: { ...summarize(overall, minSample), scanner_discarded: scannerTotal, ...followupFigures(followups), ...reminderFigures(overall.sent, overall.responses, allReminded) },
      rows,
    };
  }

  async function trendBuckets(trx: Parameters<typeof repo.countsByDay>[0], scope: repo.Scope, interval: Interval) {
    const days = await repo.countsByDay(trx, scope);
    const all = buckets(scope.from, scope.to, interval).map((b) => ({ ...b, counts: zeroCounts() }));
    const index = new Map(all.map((b, i) => [bucketStart(b.start, interval), i]));
    for (const d of days) add(all[index.get(bucketStart(d.day, interval))!].counts, d.counts);
    return all.map((b) => ({ start: b.start, end: b.end, ...summarize(b.counts, minSample) }));
  }

  return {
    /** The agents table; with `trend`, also the overall trend from the same snapshot (the dashboard). */
    async agents(scope: repo.Scope, sort: { key: SortKey; dir: 'asc' | 'desc' }, trend?: Interval) {
      return read('agents', async (trx) => {
        const { overall, rows } = await agentRows(trx, scope);
        const buckets = trend ? await trendBuckets(trx, scope, trend) : undefined;
        return { ...header(scope), overall, agents: sortAgents(rows, sort.key, sort.dir), ...(buckets && { trend: buckets }) };
      });
    },

    async agent(agentId: string, scope: repo.Scope, page: { page: number; perPage: number }, interval: Interval) {
      const own = { ...scope, agentId };
      return read('agent', async (trx) => {
        const { overall, rows } = await agentRows(trx, own);
        const names = await repo.agentNames(trx, [agentId]);
        const ratings = await repo.ratingsPage(
          trx,
          own,
          { start: startOfDay(scope.from, tz), end: startOfDay(addDaysTo(scope.to, 1), tz) },
          { limit: page.perPage, offset: (page.page - 1) * page.perPage },
        );
        return {
          ...header(scope),
          agent: { agent_id: agentId, agent_name: names.get(agentId) ?? null, team: rows[0]?.team ?? null, ...overall },
          known: names.has(agentId),
          /** Whether the scope holds any of the agent's surveys (a lead's teams may hold none of another team's agent). */
          inScope: rows.length > 0,
          trend: await trendBuckets(trx, own, interval),
          ratings: { page: page.page, per_page: page.perPage, total: ratings.total, items: ratings.items },
        };
      });
    },

    /**
     * Variants of one question side by side. The first variant in the definitions file is the
     * control; each other variant's csat and response rate are tested against it.
     */
    async variants(scope: repo.Scope & { question: string }) {
      const { variant: _ignored, ...own } = scope;
      const counts = await read('variants', (trx) => repo.countsByVariant(trx, own));
      const defined = findQuestion(deps.definitions, scope.question)?.variants?.map((v) => v.id) ?? [];
      const seen = [...counts.keys()].map((v) => v || null);
      const order = [...new Set<string | null>([...defined, ...seen.sort((a, b) => String(a).localeCompare(String(b)))])];
      const countsOf = (v: string | null) => counts.get(v ?? '') ?? zeroCounts();
      const control = countsOf(order[0] ?? null);
      const satisfied = (c: Counts) => c.score_4 + c.score_5;
      return {
        ...header(scope),
        question: scope.question,
        control: order[0] ?? null,
        variants: order.map((variant, i) => {
          const c = countsOf(variant);
          return {
            variant,
            ...summarize(c, minSample),
            csat_vs_control: i === 0 ? null : twoProportionTest(satisfied(control), control.responses, satisfied(c), c.responses),
            response_rate_vs_control: i === 0 ? null : twoProportionTest(control.responses, control.sent, c.responses, c.sent),
          };
        }),
      };
    },

    /**
     * The ratings of the scope, newest first, with their comments: the lead's feed (`only`: scores,
     * a text in the comment). `page` null answers every one, for the per-ticket CSV, up to `max`;
     * more is an error rather than a cut-off list.
     */
    async ratings(scope: repo.Scope, page: { page: number; perPage: number } | null, only: repo.RatingFilter, max = 100_000) {
      return read('ratings', async (trx) => {
        const bounds = { start: startOfDay(scope.from, tz), end: startOfDay(addDaysTo(scope.to, 1), tz) };
        const limit = page ? page.perPage : max + 1;
        const found = await repo.ratingsPage(trx, scope, bounds, { limit, offset: page ? (page.page - 1) * page.perPage : 0 }, only);
        if (!page && found.total > max) throw new AppError(400, 'too_many_rows', `${found.total} ratings match; an export holds at most ${max}. Narrow the period or filters.`);
        return { ...header(scope), ratings: { page: page?.page ?? 1, per_page: page?.perPage ?? found.total, total: found.total, items: found.items } };
      });
    },

    /** The values the dashboard's filters offer, within the scope's limits (a lead's teams, an agent's own rows). */
    filterValues: (scope: repo.Scope) => readTransaction(db, (trx) => repo.filterValues(trx, scope)),

    async trend(scope: repo.Scope, interval: Interval) {
      return read('trend', async (trx) => ({
        ...header(scope),
        interval,
        agent_id: scope.agentId ?? null,
        buckets: await trendBuckets(trx, scope, interval),
      }));
    },
  };
}
