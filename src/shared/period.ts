/** Calendar arithmetic for reports: local days in a time zone, and the UTC instants that bound them. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** True when the runtime knows the IANA zone name. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function parts(instant: Date, tz: string) {
  const p: Record<string, string> = {};
  for (const { type, value } of formatter(tz).formatToParts(instant)) p[type] = value;
  return p;
}

/** The calendar day (YYYY-MM-DD) an instant falls on in `tz`. */
export function localDay(instant: Date, tz: string): string {
  const p = parts(instant, tz);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Offset of `tz` from UTC at `instant`, in milliseconds. */
function offsetMs(instant: Date, tz: string): number {
  const p = parts(instant, tz);
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

const QUARTER_HOUR = 15 * 60_000;

/**
 * The first instant of a local day in `tz`. DST-safe, also where the clocks jump at midnight
 * (America/Santiago): the day then begins at 01:00. Offsets and jumps are whole quarter hours.
 */
export function startOfDay(day: string, tz: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  let instant = guess - offsetMs(new Date(guess), tz);
  instant = guess - offsetMs(new Date(instant), tz);
  while (localDay(new Date(instant), tz) < day) instant += QUARTER_HOUR;
  while (localDay(new Date(instant - QUARTER_HOUR), tz) === day) instant -= QUARTER_HOUR;
  return new Date(instant);
}

/** True for a real calendar date written YYYY-MM-DD (kept with the supported calendar, shared/dates.ts). */
export { isDay } from './dates';

export function addDaysTo(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to`, counting both ends. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

export type Interval = 'day' | 'week' | 'month';

/** The first day of the bucket `day` belongs to: itself, its ISO week's Monday, or the 1st of its month. */
export function bucketStart(day: string, interval: Interval): string {
  if (interval === 'day') return day;
  if (interval === 'month') return `${day.slice(0, 8)}01`;
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  return addDaysTo(day, -((weekday + 6) % 7));
}

/** Every bucket that overlaps [from, to], in order, each as [first day, last day] clipped to the period. */
export function buckets(from: string, to: string, interval: Interval): Array<{ start: string; end: string }> {
  const out: Array<{ start: string; end: string }> = [];
  let start = bucketStart(from, interval);
  while (start <= to) {
    const next =
      interval === 'day' ? addDaysTo(start, 1) : interval === 'week' ? addDaysTo(start, 7) : nextMonth(start);
    const end = addDaysTo(next, -1);
    out.push({ start: start < from ? from : start, end: end > to ? to : end });
    start = next;
  }
  return out;
}

function nextMonth(day: string): string {
  const [y, m] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
}
