/**
 * How the tables grow (issue 20): `npm run build && node dist/bench/sizes.js`. The real service
 * (dist/src/main.js, its own process, as `npm run bench` starts it) takes BENCH_SIZE_SURVEYS closed
 * tickets through the signed webhook (bench/service/traffic.ts: agents, teams, two brands, returning
 * customers, closing times over BENCH_SIZE_DAYS days); its worker then delivers every email to the
 * local SMTP sink; a fifth of the delivered surveys are rated as a browser rates (the link's GET,
 * the page's own POST, counted after RATING_HOLD_SECONDS) and a fifth of those commented. With the
 * service stopped, every table of the schema is measured: rows and bytes with its indexes (SQLite:
 * the dbstat virtual table after a WAL checkpoint; PostgreSQL: pg_total_relation_size after VACUUM
 * ANALYZE), per survey, and what that comes to at a million surveys for the tables that grow with them.
 * With BENCH_DATABASE_URL (postgres://…) the same follows on PostgreSQL, in a database made for the run.
 * Sizes do not depend on speed: a busy machine only makes the run longer. Never part of `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPostgres, type Db } from '../src/shared/db';
import { SECRETS } from './service/closeloop';
import { startDeployment } from './service/deployment';
import { startSink, type Sink } from './service/mailbox';
import { startPgRun, type PgRun } from './service/postgres';
import { loadAverage, runBench } from './service/run';
import { sqliteStore, type Store } from './service/stores';
import { addComments, chooseRatings, clickAndRate, closedTickets, sendTickets, type Mix, type Statuses } from './service/traffic';
import { int, table } from './lib/timing';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SURVEYS = env('BENCH_SIZE_SURVEYS', 20_000);
const MIX: Mix = {
  surveys: SURVEYS,
  agents: env('BENCH_SIZE_AGENTS', 100),
  teams: env('BENCH_SIZE_TEAMS', 5),
  customers: env('BENCH_SIZE_CUSTOMERS', Math.ceil(SURVEYS / 4)),
  days: env('BENCH_SIZE_DAYS', 90),
  rated: 0.2,
  commented: 0.2,
  excluded: 0.02,
  connections: env('BENCH_SIZE_CONNECTIONS', 20),
  seed: 20,
};
const MAIL_WIDTH = 20;
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const say = (line = '') => process.stdout.write(`${line}\n`);

/** What makes a table grow, and what bounds it (README "Privacy", src/privacy/retention.ts, src/main.ts). `perSurvey`: extrapolated linearly. */
const GROWTH: Record<string, { perSurvey: boolean; grows: string }> = {
  surveys: { perSurvey: true, grows: 'tickets closed; kept (RETENTION_DAYS blanks text)' },
  outbox: { perSurvey: true, grows: 'surveys scheduled; kept' },
  survey_tokens: { perSurvey: true, grows: 'surveys scheduled; RETENTION_DAYS deletes' },
  unsubscribe_tokens: { perSurvey: true, grows: 'surveys scheduled; RETENTION_DAYS (min. 30 d) deletes' },
  rating_events: { perSurvey: true, grows: 'ratings, changes, comments; kept (RETENTION_DAYS blanks comments)' },
  rating_attempts: { perSurvey: true, grows: 'rating POSTs; kept' },
  link_events: { perSurvey: true, grows: 'rating-link opens; RETENTION_DAYS deletes' },
  followups: { perSurvey: true, grows: 'ratings <= ALERT_MAX_SCORE; kept' },
  followup_events: { perSurvey: true, grows: 'follow-up changes; kept (RETENTION_DAYS blanks notes)' },
  hook_outbox: { perSurvey: true, grows: 'ratings x RATING_WEBHOOK_URL receivers; kept' },
  reminders: { perSurvey: true, grows: 'surveys sent with REMINDER_AFTER_HOURS > 0; kept' },
  lead_alerts: { perSurvey: true, grows: 'low ratings x team leads; kept' },
  webhook_receipts: { perSurvey: false, grows: 'webhooks of the last 7 days (pruned hourly)' },
  opt_outs: { perSurvey: false, grows: 'customers who opted out; kept' },
  agent_day_stats: { perSurvey: false, grows: 'agents x teams x brands x days' },
  agent_month_stats: { perSurvey: false, grows: 'agents x teams x brands x months' },
  agent_rollup: { perSurvey: false, grows: 'agents x teams x periods' },
  agent_span_stats: { perSurvey: false, grows: 'agents x teams x brands x years and 7-day blocks' },
  agents: { perSurvey: false, grows: 'agents' },
  agent_emails: { perSurvey: false, grows: 'agent addresses' },
  report_meta: { perSurvey: false, grows: 'constant' },
  users: { perSurvey: false, grows: 'people who sign in' },
  sessions: { perSurvey: false, grows: 'live sessions (ended ones swept hourly)' },
  signin_links: { perSurvey: false, grows: 'live sign-in links (swept hourly)' },
  audit_events: { perSurvey: false, grows: 'admin actions; AUDIT_RETENTION_DAYS deletes' },
  knex_migrations: { perSurvey: false, grows: 'migrations' },
  knex_migrations_lock: { perSurvey: false, grows: 'constant' },
  sqlite_sequence: { perSurvey: false, grows: 'constant (SQLite: AUTOINCREMENT counters)' },
  sqlite_schema: { perSurvey: false, grows: 'constant (SQLite: the schema itself)' },
};

type TableSize = { name: string; rows: number; bytes: number; indexBytes: number; toastBytes: number };
/** `compacted`: bytes of each table once rewritten (SQLite VACUUM, PostgreSQL VACUUM FULL): the rows without the slack that inserts and updates leave. */
type Layout = { tables: TableSize[]; compacted: Map<string, number>; describe: string };

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

/** Bytes of each table with its indexes (and, on PostgreSQL, TOAST). */
async function bytesByTable(db: Db): Promise<Array<{ name: string; bytes: number; indexBytes: number; toastBytes: number }>> {
  if (isPostgres(db)) {
    const rows = rowsOf<Record<string, string>>(
      await db.raw(
        `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes, pg_indexes_size(c.oid) AS index_bytes,
           COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast_bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`,
      ),
    );
    return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes), indexBytes: Number(r.index_bytes), toastBytes: Number(r.toast_bytes) }));
  }
  // One row per b-tree (aggregate); an index counts with its table. The schema's own b-tree has no row in sqlite_schema.
  const rows = rowsOf<{ name: string; bytes: number; index_bytes: number }>(
    await db.raw(
      `SELECT COALESCE(m.tbl_name, d.name) AS name, SUM(d.pgsize) AS bytes, SUM(CASE WHEN m.type = 'index' THEN d.pgsize ELSE 0 END) AS index_bytes
       FROM dbstat AS d LEFT JOIN sqlite_schema AS m ON m.name = d.name WHERE d.aggregate = TRUE GROUP BY 1`,
    ),
  );
  return rows.map((r) => ({ name: r.name, bytes: r.bytes, indexBytes: r.index_bytes, toastBytes: 0 }));
}

/**
 * Rows and bytes of every table of the service's schema, indexes included, as the service left them
 * and then compacted. SQLite: the pages of each b-tree (the dbstat virtual table) after the WAL is
 * checkpointed into the file. PostgreSQL: pg_total_relation_size (heap, indexes, TOAST, free-space and
 * visibility maps) after VACUUM ANALYZE of each table, as autovacuum would leave them.
 */
async function measureTables(db: Db): Promise<Layout> {
  const pg = isPostgres(db);
  const names = pg
    ? rowsOf<{ name: string }>(await db.raw("SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"))
    : [{ name: 'sqlite_schema' }, ...rowsOf<{ name: string }>(await db.raw("SELECT name FROM sqlite_schema WHERE type = 'table'"))];
  const rows = new Map<string, number>();
  for (const { name } of names) rows.set(name, Number((await db(name).count({ n: '*' }))[0].n));
  let describe: string;
  if (pg) {
    for (const { name } of names) await db.raw('VACUUM ANALYZE ??', [name]);
    const [{ schema, version }] = rowsOf<{ schema: string; version: string }>(await db.raw('SELECT current_schema() AS schema, version() AS version'));
    describe = `${version.split(' on ')[0]}, schema ${schema}; pg_total_relation_size after VACUUM ANALYZE of each table; compacted: after VACUUM FULL`;
  } else {
    await db.raw('PRAGMA wal_checkpoint(TRUNCATE)');
    const pragma = async (p: string) => Number(Object.values(rowsOf<Record<string, number>>(await db.raw(`PRAGMA ${p}`))[0])[0]);
    const [pageSize, pageCount, freePages] = [await pragma('page_size'), await pragma('page_count'), await pragma('freelist_count')];
    const [{ v }] = rowsOf<{ v: string }>(await db.raw('SELECT sqlite_version() AS v'));
    describe = `SQLite ${v}, the dbstat virtual table (pages of each b-tree, ${pageSize}-byte pages); file ${int(pageCount * pageSize)} bytes after a WAL checkpoint, ${int(freePages * pageSize)} of them free pages; compacted: after VACUUM`;
  }
  const tables = (await bytesByTable(db)).map((t) => ({ ...t, rows: rows.get(t.name) ?? 0 }));
  if (pg) for (const { name } of names) await db.raw('VACUUM (FULL, ANALYZE) ??', [name]);
  else await db.raw('VACUUM');
  const compacted = new Map((await bytesByTable(db)).map((t) => [t.name, t.bytes]));
  return { tables, compacted, describe };
}

/** How many rows of `table` have each value of `column`, as "n value, …". */
async function tally(db: Db, table: string, column: string): Promise<string> {
  const rows: Array<Record<string, unknown>> = await db(table).select(column).count({ n: '*' }).groupBy(column).orderBy(column);
  return rows.map((r) => `${int(Number(r.n))} ${String(r[column])}`).join(', ') || 'none';
}

const statuses = (s: Statuses) => Object.entries(s).map(([code, n]) => `${int(n)} × ${code}`).join(', ');

/** Waits until no rating waits for its hold any more (the service decides them RATING_HOLD_SECONDS after they were posted). */
async function untilDecided(store: Store, timeoutMs: number): Promise<void> {
  const db = store.open();
  try {
    for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 2000))) {
      const [{ n }] = await db('rating_attempts').where({ status: 'pending' }).count({ n: '*' });
      if (Number(n) === 0) return;
    }
    throw new Error(`ratings still pending after ${timeoutMs / 1000} s`);
  } finally {
    await db.destroy();
  }
}

/**
 * The production path on one store, in one running service: tickets in, its worker delivering each
 * email to the sink as they come, then ratings and comments on the delivered ones. Answers what was checked.
 */
async function fill(label: string, store: Store, sink: Sink, dir: string): Promise<string[]> {
  const tickets = closedTickets(MIX, Date.now());
  const wider = { SMTP_URL: `smtp://127.0.0.1:${sink.port}?maxConnections=${MAIL_WIDTH}`, DELIVERY_CONCURRENCY: String(MAIL_WIDTH) };
  const service = await startDeployment({ label, store, instances: 1 }, { dir, sinkPort: sink.port, env: wider });
  try {
    const arrival = sink.expect(tickets.surveyed, { keep: true, timeoutMs: 60_000 + tickets.surveyed * 100 });
    arrival.catch(() => {}); // awaited below, unless the webhooks fail first
    say(`${label}: ${int(MIX.surveys)} tickets closed through the signed webhook, ${MIX.connections} at a time; the worker sends each email to the sink (${MAIL_WIDTH} SMTP connections)`);
    const answers = await sendTickets(service.url, SECRETS.webhook, tickets.bodies, MIX.connections);
    if ((answers[202] ?? 0) !== tickets.surveyed) throw new Error(`${tickets.surveyed} surveys expected, the webhooks answered ${statuses(answers)}`);
    const { tokens } = await arrival;
    const ratings = chooseRatings(tokens, MIX);
    say(`${label}: ${int(ratings.length)} surveys rated (GET of the link, then the page's own POST); waiting for their hold to end`);
    const rated = await clickAndRate(service.url, ratings, MIX.connections);
    await untilDecided(store, 180_000);
    say(`${label}: comments on ${int(ratings.filter((r) => r.comment).length)} of them`);
    const comments = await addComments(service.url, ratings, MIX.connections);
    return [
      `webhook answers: ${statuses(answers)}; emails delivered to the sink: ${int(tokens.length)}`,
      `rating links opened: ${statuses(rated.pages)}; page POSTs: ${statuses(rated.posts)}; comment POSTs: ${statuses(comments)}`,
    ];
  } finally {
    await service.stop();
  }
}

/** What the stopped service left, by status and kind. */
async function tallies(store: Store): Promise<string[]> {
  const db = store.open();
  try {
    const wording: Array<{ n: unknown }> = await db('surveys').select(db.raw('AVG(LENGTH(wording)) AS n'));
    return [
      `surveys: ${await tally(db, 'surveys', 'status')}; outbox: ${await tally(db, 'outbox', 'status')}; rating attempts: ${await tally(db, 'rating_attempts', 'status')}`,
      `rating events: ${await tally(db, 'rating_events', 'kind')}; link events: ${await tally(db, 'link_events', 'kind')}; follow-ups: ${await tally(db, 'followups', 'status')}`,
      `a survey row's frozen wording (JSON): ${int(Math.round(Number(wording[0].n)))} characters on average`,
    ];
  } finally {
    await db.destroy();
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function sizeTable(layout: Layout): string {
  const sorted = [...layout.tables].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  // An empty table is its first pages whatever the number of surveys.
  const extrapolated = (t: TableSize) => Boolean(GROWTH[t.name]?.perSurvey && t.rows);
  const atMillion = (t: TableSize) => (extrapolated(t) ? (t.bytes / SURVEYS) * 1e6 : t.bytes);
  const compacted = (t: TableSize) => layout.compacted.get(t.name) ?? NaN;
  const rows = sorted.map((t) => [
    t.name,
    int(t.rows),
    int(t.bytes),
    int(t.indexBytes),
    t.rows ? int(Math.round(t.bytes / t.rows)) : '—',
    (t.bytes / SURVEYS).toFixed(1),
    extrapolated(t) ? mb(atMillion(t)) : '(as now)',
    int(compacted(t)),
  ]);
  const sum = (f: (t: TableSize) => number) => sorted.reduce((a, t) => a + f(t), 0);
  rows.push(['total', '', int(sum((t) => t.bytes)), int(sum((t) => t.indexBytes)), '', (sum((t) => t.bytes) / SURVEYS).toFixed(1), mb(sum(atMillion)), int(sum(compacted))]);
  return table(['table', 'rows', 'bytes', 'of which indexes', 'bytes/row', 'bytes/survey', 'at 1M surveys', 'compacted bytes'], rows);
}

/** What makes each table grow, for every table either engine showed. */
function growthTable(names: Iterable<string>): string {
  return table(['table', 'grows with'], [...new Set(names)].sort().map((name) => [name, GROWTH[name]?.grows ?? '? (not classified: add it to GROWTH)']));
}

let pgRun: PgRun | undefined;

async function main(dir: string) {
  const cpus = os.cpus();
  say('Closeloop table sizes');
  say(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.type()} ${os.release()}; node ${process.version}; load average at start: ${loadAverage()}`);
  say(
    `mix: ${int(MIX.surveys)} tickets closed over ${MIX.days} days by ${MIX.agents} agents in ${MIX.teams} teams, 2 brands (60/40), ${int(MIX.customers)} customers (some return often), ${MIX.excluded * 100} % tagged no-survey; ` +
      `${MIX.rated * 100} % of delivered surveys rated, ${MIX.commented * 100} % of those commented; service defaults otherwise (RETENTION_DAYS 0, no reminders, no rating webhooks)`,
  );
  const sink = await startSink();
  const stores: Array<[string, Store]> = [['SQLite', sqliteStore(dir)]];
  if (DATABASE_URL) {
    pgRun = await startPgRun(DATABASE_URL);
    say(`then on ${pgRun.describe}`);
    stores.push(['PostgreSQL', pgRun.store('sizes')]);
  }
  const names: string[] = [];
  for (const [label, store] of stores) {
    say();
    const started = Date.now();
    const checks = [...(await fill(label, store, sink, dir)), ...(await tallies(store))];
    const db = store.open();
    let layout: Layout;
    try {
      layout = await measureTables(db);
    } finally {
      await db.destroy();
    }
    say(`\n${label} (${((Date.now() - started) / 1000).toFixed(0)} s): ${layout.describe}`);
    for (const line of checks) say(`  ${line}`);
    say();
    say(sizeTable(layout));
    // An empty TOAST table with its index takes 8 kB.
    const toasted = layout.tables.filter((t) => t.toastBytes > 8192).map((t) => `${t.name} ${int(t.toastBytes)}`);
    if (toasted.length) say(`TOAST, within bytes: ${toasted.join(', ')}`);
    names.push(...layout.tables.map((t) => t.name));
    await store.dispose?.();
  }
  say();
  say(`"at 1M surveys": bytes/survey × 1,000,000 for the tables that grow with surveys or ratings (at this mix's share rated); the others as measured, since agents, days and the last 7 days' webhooks bound them instead.`);
  say();
  say(growthTable(names));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-sizes-'));
runBench({ name: 'sizes', dir, pg: () => pgRun, main: () => main(dir), say });
