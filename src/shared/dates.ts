import { z } from 'zod';

/**
 * The calendar Closeloop supports: every date a request names (a report's period, the operators'
 * API filters and cursor, a ticket's closed_at) lies in FIRST_DAY..LAST_DAY, checked here before
 * any arithmetic. Every date computed from one (the day after, a month's end, a week's Monday, a
 * day's first instant in REPORT_TZ) then has a four-digit year; outside it JavaScript's Date turns
 * years below 100 into 19xx, writes year 0 as 1 (BC) in a time zone, and past 9999 gives no
 * YYYY-MM-DD at all.
 */
export const FIRST_DAY = '2000-01-01';
export const LAST_DAY = '2199-12-31';

const OUTSIDE = `must be between ${FIRST_DAY} and ${LAST_DAY}`;
const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/**
 * An ISO-8601 date-time with a Z or ±hh[:]mm offset; seconds and fractions optional (Zendesk's
 * placeholders render minutes only). The day and the time are then checked for real below.
 */
const DATE_TIME_RE = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;

/** True for a real calendar date written YYYY-MM-DD. */
export function isDay(value: string): boolean {
  const m = DAY_RE.exec(value);
  if (!m) return false;
  const d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]); // not Date.UTC, which reads years 0–99 as 1900–1999
  return d.toISOString().slice(0, 10) === value;
}

/** Why `value` is not a supported day (a real date written YYYY-MM-DD in the calendar), or undefined when it is one. */
export function dayProblem(value: string): string | undefined {
  if (!isDay(value)) return 'must be a date written YYYY-MM-DD';
  return value < FIRST_DAY || value > LAST_DAY ? OUTSIDE : undefined;
}

/**
 * Why `value` is not a supported instant, or undefined when it is one: an ISO-8601 date-time with
 * an offset (with `dates`, also a day, meaning its midnight UTC) whose UTC day is in the calendar.
 */
export function instantProblem(value: string, opts: { dates?: boolean } = {}): string | undefined {
  const shape = opts.dates ? 'must be an ISO-8601 date or date-time' : 'must be an ISO-8601 date-time';
  if (opts.dates && DAY_RE.test(value)) return isDay(value) ? dayProblem(value) : shape;
  const m = DATE_TIME_RE.exec(value);
  if (!m || !isDay(m[1])) return shape;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return shape;
  return isSupportedInstant(ms) ? undefined : OUTSIDE;
}

/** True for epoch milliseconds whose UTC day is in the calendar (an instant parsed, or read back from a cursor). */
export const isSupportedInstant = (ms: number) =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 && dayProblem(new Date(ms).toISOString().slice(0, 10)) === undefined;

const checked = (problem: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const message = problem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

/** zod schemas of the above, for query strings and payloads: a failure names the field it is on. */
export const supportedDay = checked(dayProblem);
export const supportedInstant = checked((value) => instantProblem(value));
export const supportedDayOrInstant = checked((value) => instantProblem(value, { dates: true }));
