import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { zodDetails } from '../shared/http';
import { addDaysTo, daysBetween, isDay, localDay } from './period';
import type { Scope } from './repository';
import type { SortKey } from './service';

/** About ten years: the longest period one report covers. */
const MAX_DAYS = 3_700;

const blankAsUnset = (v: unknown) => (v === '' ? undefined : v);
const day = z.preprocess(blankAsUnset, z.string().refine(isDay, 'must be a date written YYYY-MM-DD').optional());
const name = z.preprocess(blankAsUnset, z.string().max(128).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters').optional());
const SORT_KEYS = ['agent_name', 'team', 'surveys_sent', 'responses', 'response_rate', 'csat', 'csat_ci_low', 'avg_score', 'comments'] as const;

const querySchema = z.object({
  from: day,
  to: day,
  team: name,
  brand: name,
  agent: name,
  question: name,
  variant: name,
  format: z.preprocess(blankAsUnset, z.enum(['json', 'csv', 'html']).optional()),
  sort: z.preprocess(blankAsUnset, z.enum(SORT_KEYS).default('csat_ci_low')),
  dir: z.preprocess(blankAsUnset, z.enum(['asc', 'desc']).default('desc')),
  interval: z.preprocess(blankAsUnset, z.enum(['day', 'week', 'month']).default('week')),
  page: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(100_000).default(1)),
  per_page: z.preprocess(blankAsUnset, z.coerce.number().int().min(1).max(200).default(50)),
});

export type ReportQuery = {
  scope: Scope;
  format: 'json' | 'csv' | 'html';
  sort: { key: SortKey; dir: 'asc' | 'desc' };
  interval: 'day' | 'week' | 'month';
  page: { page: number; perPage: number };
  /** The query string as given, minus format, for links to other views of the same data. */
  raw: Record<string, string>;
};

/** Reads and checks a report's query string; bad values answer 400 naming the parameter. The default period is the last 30 days. */
export function parseReportQuery(req: Request, tz: string, today: Date): ReportQuery {
  const single = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const parsed = querySchema.safeParse(single);
  if (!parsed.success) throw new AppError(400, 'invalid_query', 'Check the report parameters.', zodDetails(parsed.error));
  const q = parsed.data;
  const to = q.to ?? localDay(today, tz);
  const from = q.from ?? addDaysTo(to, -29);
  if (from > to) throw new AppError(400, 'invalid_query', 'from must not be after to.', [{ path: 'from', message: 'must not be after to' }]);
  if (daysBetween(from, to) > MAX_DAYS) {
    throw new AppError(400, 'invalid_query', `A report covers at most ${MAX_DAYS} days.`, [{ path: 'to', message: `at most ${MAX_DAYS} days after from` }]);
  }
  const raw: Record<string, string> = {};
  for (const key of ['from', 'to', 'team', 'brand', 'agent', 'question', 'variant', 'sort', 'dir', 'interval'] as const) {
    const value = key === 'from' ? from : key === 'to' ? to : q[key];
    if (value !== undefined) raw[key] = String(value);
  }
  return {
    scope: { from, to, team: q.team, brand: q.brand, agentId: q.agent, question: q.question, variant: q.variant },
    format: q.format ?? (req.accepts(['json', 'html']) === 'html' ? 'html' : 'json'),
    sort: { key: q.sort, dir: q.dir },
    interval: q.interval,
    page: { page: q.page, perPage: q.per_page },
    raw,
  };
}
