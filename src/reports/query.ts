import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { ONE_LINE, parseOr400 } from '../shared/validation';
import { dayProblem, FIRST_DAY, supportedDay } from '../shared/dates';
import { addDaysTo, daysBetween, localDay } from '../shared/period';
import type { Scope } from './repository';
import type { SortKey } from './service';

/** About ten years: the longest period one report covers. */
const MAX_DAYS = 3_700;

const blankAsUnset = (v: unknown) => (v === '' ? undefined : v);
/** A day in the supported calendar (shared/dates.ts), checked before any arithmetic; empty counts as absent. */
const day = z.preprocess(blankAsUnset, supportedDay.optional());
const name = z.preprocess(blankAsUnset, z.string().max(128).regex(ONE_LINE, 'must not contain control characters').optional());
/** The agents report's sort keys: the query accepts them, the dashboard's columns are them. */
export const SORT_KEYS = ['agent_name', 'team', 'surveys_sent', 'responses', 'response_rate', 'csat', 'csat_ci_low', 'avg_score', 'comments'] as const;

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
  interval: z.preprocess(blankAsUnset, z.enum(['day', 'week', 'month']).optional()),
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

const invalid = (path: 'from' | 'to', message: string, text: string) => new AppError(400, 'invalid_query', text, [{ path, message }]);

/**
 * The one rule for a report's period, from `from` and `to` as given (days in the calendar, or
 * absent): the default is the last 30 days up to today, cut at the calendar's first day; from
 * comes before to, and the period is at most MAX_DAYS long. Each failure names its field.
 */
export function period(given: { from?: string; to?: string }, today: string): { from: string; to: string } {
  const to = given.to ?? today;
  const outside = dayProblem(to); // only a clock outside the calendar gets here
  if (outside) throw invalid('to', outside, 'Give to: today is outside the supported calendar.');
  const monthBefore = addDaysTo(to, -29);
  const from = given.from ?? (monthBefore < FIRST_DAY ? FIRST_DAY : monthBefore);
  if (from > to) throw invalid('from', 'must not be after to', 'from must not be after to.');
  if (daysBetween(from, to) > MAX_DAYS) throw invalid('to', `at most ${MAX_DAYS} days after from`, `A report covers at most ${MAX_DAYS} days.`);
  return { from, to };
}

/**
 * The trend's buckets when none is asked for: ones that fit the window: days up to 31 days, weeks
 * up to 217 days (31 or 32 bars), months beyond (8 to 122 bars for the longest period).
 */
export function fittingInterval(from: string, to: string): 'day' | 'week' | 'month' {
  const days = daysBetween(from, to); // inclusive of both
  return days <= 31 ? 'day' : days <= 31 * 7 ? 'week' : 'month';
}

/** Reads and checks a report's query string; bad values answer 400 naming the parameter. The default period is the last 30 days (period()). */
export function parseReportQuery(req: Request, tz: string, today: Date): ReportQuery {
  const single = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const q = parseOr400(querySchema, single, 'invalid_query', 'Check the report parameters.');
  const { from, to } = period(q, localDay(today, tz));
  const interval = q.interval ?? fittingInterval(from, to);
  const raw: Record<string, string> = {};
  for (const key of ['from', 'to', 'team', 'brand', 'agent', 'question', 'variant', 'sort', 'dir', 'interval'] as const) {
    const value = key === 'from' ? from : key === 'to' ? to : q[key];
    if (value !== undefined) raw[key] = String(value);
  }
  return {
    scope: { from, to, team: q.team, brand: q.brand, agentId: q.agent, question: q.question, variant: q.variant },
    format: q.format ?? (req.accepts(['json', 'html']) === 'html' ? 'html' : 'json'),
    sort: { key: q.sort, dir: q.dir },
    interval,
    page: { page: q.page, perPage: q.per_page },
    raw,
  };
}
