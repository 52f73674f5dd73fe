import type { Knex } from 'knex';
import type { Db } from '../../src/shared/db';
import { addDaysTo, startOfDay } from '../../src/shared/period';

/** A report period in local days, and the closed_at instants (epoch ms, both included) that bound it. */
export type Window = { name: string; from: string; to: string; start: number; end: number };

export function window(name: string, from: string, to: string, tz: string): Window {
  return { name, from, to, start: startOfDay(from, tz).getTime(), end: startOfDay(addDaysTo(to, 1), tz).getTime() - 1 };
}

/**
 * The comparison figure: the agents table's core numbers written by hand as one GROUP BY over
 * the raw surveys table, without counters. Same definitions as ledger.contribution().
 */
export const RAW_AGENTS_SQL = `
  SELECT agent_id,
         SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent,
         SUM(CASE WHEN status = 'sent' AND score IS NOT NULL THEN 1 ELSE 0 END) AS responses,
         SUM(CASE WHEN status = 'sent' AND score >= 4 THEN 1 ELSE 0 END) AS satisfied
    FROM surveys
   WHERE closed_at BETWEEN ? AND ?
   GROUP BY agent_id`;

export type RawRow = { agent_id: string | null; sent: number; responses: number; satisfied: number };

export const rawAgents = (db: Db, w: Window): Promise<RawRow[]> => db.raw(RAW_AGENTS_SQL, [w.start, w.end]);

type ReportRow = { agent_id: string | null; surveys_sent: number; responses: number; distribution: Record<'4' | '5', number> };

/** Where the report and the raw GROUP BY disagree (none expected): the bench must time two ways of computing the same numbers. */
export function differences(report: ReportRow[], raw: RawRow[]): string[] {
  const byAgent = new Map(raw.map((r) => [r.agent_id ?? '', r]));
  const out: string[] = [];
  if (report.length !== raw.length) out.push(`${report.length} report rows, ${raw.length} raw rows`);
  for (const r of report) {
    const x = byAgent.get(r.agent_id ?? '');
    const mine = [r.surveys_sent, r.responses, r.distribution['4'] + r.distribution['5']];
    const theirs = x ? [x.sent, x.responses, x.satisfied] : [];
    if (mine.join() !== theirs.join()) out.push(`${r.agent_id}: report ${mine.join('/')}, raw ${theirs.join('/') || 'missing'}`);
  }
  return out.slice(0, 5);
}

/** EXPLAIN QUERY PLAN of a statement, one line per step, indented by depth. */
export async function explain(db: Db, sql: string, bindings: readonly Knex.RawBinding[]): Promise<string[]> {
  const steps = await db.raw<Array<{ id: number; parent: number; detail: string }>>(`EXPLAIN QUERY PLAN ${sql}`, bindings);
  const depth = new Map<number, number>([[0, 0]]);
  return steps.map((s) => {
    depth.set(s.id, (depth.get(s.parent) ?? 0) + 1);
    return `${'  '.repeat(depth.get(s.id)!)}${s.detail}`;
  });
}
