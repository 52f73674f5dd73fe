import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import type { TestApp } from '../helpers/boot';

/**
 * Pieces of the bad-input suite for dates and for any answer: edge days and instants with an
 * oracle written apart from src/shared/dates.ts, a fingerprint of everything a request could
 * store, and the README's table of answers (every status and error code the service may give).
 */

export const FIRST = '2000-01-01';
export const LAST = '2199-12-31';

/** A real calendar date written YYYY-MM-DD (any year 0000–9999), by field arithmetic rather than Date. */
export function realDay(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days[mo - 1];
}

/** The README's rule for a day: a real date in 2000-01-01..2199-12-31. */
export const supportedDay = (s: string) => realDay(s) && s >= FIRST && s <= LAST;

/** `day` moved by `n` days (both in the supported calendar, where Date is exact). */
export const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
export const daysFromTo = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;

/** Days the issue names, and their neighbours: years 1 and 9999, the calendar's ends, DST days, impossible dates. */
export const EDGE_DAYS = [
  '0001-01-01', '0000-01-01', '0099-12-31', '0100-01-01', '1582-10-10', '1899-12-31', '1969-12-31', '1970-01-01',
  '1999-12-31', '2000-01-01', '2000-02-29', '2099-12-31', '2100-02-28', '2100-02-29', '2100-03-01', '2199-12-31', '2200-01-01',
  '9999-12-31', '9999-12-01', '9999-01-01',
  // DST in Europe/Berlin (REPORT_TZ of these tests), New York, Santiago (midnight jump) and Lord Howe (half hour)
  '2026-03-29', '2026-10-25', '2026-03-08', '2026-11-01', '2026-09-06', '2026-04-05',
  '2026-02-29', '2026-02-30', '2026-04-31', '2026-13-01', '2026-00-10', '2026-01-00',
  '2026-1-5', '26-01-05', '2026/01/05', '20260105', '+2026-01-05', '2026-01-05T00:00:00Z', ' 2026-01-05', '2026-01-05 ',
  '+275760-09-13', '-000001-01-01', '10000-01-01', 'today', 'NaN', 'null', '0', '-1', '1e999',
];

/** Text to send as a date parameter: absent, empty, an edge, any real day of any year, or hostile text. */
export const dateParam: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.constantFrom(...EDGE_DAYS) },
  { weight: 4, arbitrary: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) },
  { weight: 2, arbitrary: fc.date({ min: new Date('2016-01-01T00:00:00Z'), max: new Date('2027-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }))
      .map(([y, m, d]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/**
 * A report period near the window limit: `from` any supported day, `to` 3,698 to 3,702 days on
 * (both ends count), or a short period, so both sides of the 3,700-day rule are common.
 */
export const windowPair: fc.Arbitrary<[string, string]> = fc
  .tuple(
    fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2189-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    fc.oneof(fc.integer({ min: 3_697, max: 3_701 }), fc.integer({ min: -2, max: 60 })),
  )
  .map(([from, span]) => [from, addDays(from, span)]);

// ---------------------------------------------------------------------------------------------

/**
 * Everything a request could store or change, read in one round trip of plain SQL (built once):
 * each table's rows and the surveys' mutable fields (score, comment, email, status).
 */
export function fingerprinter(t: TestApp, tables: readonly string[]): () => Promise<Record<string, string>> {
  const sql = `SELECT ${[
    ...tables.map((table) => `(SELECT COUNT(*) FROM "${table}") AS "${table}"`),
    '(SELECT SUM(COALESCE(score, 0)) FROM surveys) AS scores',
    '(SELECT SUM(LENGTH(customer_email)) + SUM(COALESCE(LENGTH(comment), 0)) FROM surveys) AS texts',
    "(SELECT SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) FROM surveys) AS sent",
  ].join(', ')}`;
  return async () => {
    const result = await t.db.raw(sql);
    const row = (Array.isArray(result) ? result[0] : result.rows[0]) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v ?? 0)]));
  };
}

/**
 * A listening server for `t.app` and a keep-alive agent: supertest on the bare app opens a server
 * and a connection per request, which costs more than most requests of the suite themselves. A
 * request with a body asks for its connection to be closed after it: a route that answers without
 * reading the body (a 404, a 401) leaves the server to drop the connection, and a pooled one would
 * be reused while it closes ("socket hang up").
 */
export async function keepAlive(t: TestApp) {
  const server = http.createServer(t.app);
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, body = false) => {
    const test = (request(server) as unknown as Record<string, (p: string) => request.Test>)[method.toLowerCase()](path).agent(agent);
    return body ? test.set('Connection', 'close') : test;
  };
  return {
    get: (path: string) => call('get', path),
    head: (path: string) => call('head', path),
    delete: (path: string) => call('delete', path),
    /** A POST: with a body, so on a connection of its own. */
    post: (path: string) => call('post', path, true),
    call,
    async close() {
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The README's table of answers ("Every answer"): each row's status and `error` code. An answer
 * the service gives that is not in it is a documentation bug the suite reports.
 */
export function documentedAnswers(): Set<string> {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Every answer'));
  const table = section.slice(0, section.indexOf('\n## ', 4));
  const answers = new Set<string>();
  for (const line of table.split('\n')) {
    const m = /^\| `(\d{3})` \| (?:`([a-z_]+)`|—) \|/.exec(line);
    if (m) answers.add(m[2] ? `${m[1]} ${m[2]}` : m[1]).add(m[1]);
  }
  if (answers.size < 10) throw new Error('README: the "Every answer" table was not found');
  return answers;
}

/** How an answer reads in that table: its status and, for a JSON error, its `error` code (pages and successes: the status). */
export function answerKey(res: { status: number; headers: Record<string, string>; body: unknown }): string {
  const json = /^application\/json/.test(res.headers['content-type'] ?? '');
  const code = json && res.status >= 400 ? (res.body as { error?: unknown } | undefined)?.error : undefined;
  return code === undefined ? String(res.status) : `${res.status} ${String(code)}`;
}
