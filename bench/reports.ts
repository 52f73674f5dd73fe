/**
 * `npm run bench:reports`: builds a large history in a temporary SQLite file (500 agents, three
 * years, 5 million surveys, 1 million ratings; BENCH_SURVEYS scales it) and times the agents
 * report against one hand-written GROUP BY over the raw surveys table, in the same run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createDb, type Db } from '../src/shared/db';
import { migrateLatest } from '../src/schema';
import { systemClock } from '../src/shared/clock';
import { COUNTERS } from '../src/surveys/counters/ledger';
import { DEFAULT_BATCH, rebuildOnline } from '../src/surveys/counters/rebuild';
import { addDaysSql, coverPeriod, ROLLUP_TABLE, SPAN_TABLE } from '../src/surveys/counters/rollup';
import { addDaysTo, localDay } from '../src/shared/period';
import { createReportService } from '../src/reports/service';
import { loadDefinitions } from '../src/surveys/definitions';
import { wordingFor } from '../src/surveys/questions';
import { projectRoot } from '../src/shared/views';
import { writeDataset, type DatasetSpec } from './lib/dataset';
import { LOCALES } from './lib/people';
import { all, exec, withConnection, withIndexesDeferred } from './lib/sqlite';
import { differences, explain, rawAgents, RAW_AGENTS_SQL, window, type Window } from './lib/raw';
import { int, measure, ms, table, timeOnce, type Timing } from './lib/timing';

const TZ = 'UTC';
const TARGET_P95_MS = 100;
const LOADED_TABLES = ['surveys', 'rating_events', 'agent_day_stats', 'agent_month_stats'];
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SURVEYS = env('BENCH_SURVEYS', 5_000_000);
const RUNS = env('BENCH_RUNS', 30);
const WARMUP = env('BENCH_WARMUP', 3);
const RAW_BUDGET_S = env('BENCH_RAW_BUDGET_S', 60);
const REBUILD = process.env.BENCH_REBUILD === '1';
const say = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (msValue: number) => `${(msValue / 1000).toFixed(1)} s`;

async function main(dir: string) {
  const file = path.join(dir, 'bench.sqlite');
  const definitions = loadDefinitions(path.join(projectRoot(), 'config', 'surveys.yml'));
  const now = systemClock.now();
  const today = localDay(now, TZ);
  const spec: DatasetSpec = {
    surveys: SURVEYS,
    ratings: Math.round(SURVEYS / 5),
    agents: 500,
    teams: 25,
    firstDay: addDaysTo(today, -3 * 365),
    now,
    tz: TZ,
    questionId: definitions.default,
    wording: Object.fromEntries(LOCALES.map((l) => [l, JSON.stringify(wordingFor(definitions, definitions.default, null, l))])) as DatasetSpec['wording'],
    seed: 20261128,
  };
  const cpus = os.cpus();
  say('Closeloop reports benchmark');
  say(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; node ${process.version}`);
  say(`load average at start: ${loadAverage()} (other work on the machine slows every figure below)`);

  let db: Db = createDb(file);
  const buildStarted = process.hrtime.bigint();
  const summary = await migrateLatest(db).then(() => withConnection(db, async (conn) => {
    // Load only: no rollback journal, no fsync, a 1 GiB page cache. The timed part reopens with the service's own settings.
    await exec(conn, 'PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576');
    const { result, indexMs } = await withIndexesDeferred(conn, LOADED_TABLES, () =>
      writeDataset(conn, spec, (done) => {
        if (done % 500_000 === 0 || done === spec.surveys) say(`  ${int(done)} surveys written (${seconds(elapsed(buildStarted))})`);
      }),
    );
    // The rollup and the span counters are derived from the day counters with the statements a rebuild's step uses, over all days.
    const rollupMs = await timeOnce(async () => {
      for (const sql of addDaysSql(COUNTERS, '').periods) await all(conn, sql, ['0000-01-01', '9999-12-31']);
    });
    const [{ n: rollupRows }] = await all<{ n: number }>(conn, `SELECT COUNT(*) AS n FROM ${ROLLUP_TABLE}`);
    const analyzeMs = await timeOnce(() => exec(conn, 'ANALYZE'));
    await exec(conn, 'PRAGMA journal_mode = WAL');
    const [{ version }] = await all<{ version: string }>(conn, 'SELECT sqlite_version() AS version');
    return { ...result, indexMs, rollupMs, rollupRows, analyzeMs, sqlite: version };
  })).finally(() => db.destroy());
  const buildMs = elapsed(buildStarted);
  const size = fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
  say(`SQLite ${summary.sqlite}, file in ${os.tmpdir()}`);
  say(`data set: ${int(summary.surveys)} surveys (${int(summary.sent)} sent, ${int(summary.suppressed)} suppressed, ${int(summary.failed)} failed), ${int(summary.ratings)} ratings (${int(summary.comments)} with a comment), ${spec.agents} agents in ${spec.teams} teams, 2 brands, closed ${spec.firstDay} .. ${today} (${TZ})`);
  say(`counters: ${int(summary.dayRows)} agent_day_stats rows, ${int(summary.monthRows)} agent_month_stats rows, ${int(summary.rollupRows)} agent_rollup rows; database ${(size / 2 ** 30).toFixed(2)} GiB`);
  say(`built in ${seconds(buildMs)} (of which indexes ${seconds(summary.indexMs)}, rollup ${seconds(summary.rollupMs)}, ANALYZE ${seconds(summary.analyzeMs)})`);

  db = createDb(file); // the service's own connection settings (WAL, synchronous=FULL, default cache)
  try {
    const reports = createReportService({ db, clock: systemClock, tz: TZ, minSample: 10, definitions });
    const agents = (w: Window, filter: { brand?: string; question?: string; team?: string } = {}) => reports.agents({ from: w.from, to: w.to, ...filter }, { key: 'csat_ci_low', dir: 'desc' });
    const worst = worstAligned(spec.firstDay, today);
    const windows = [window('90 days', addDaysTo(today, -89), today, TZ), window('3 years', spec.firstDay, today, TZ), window(`${worst.from}..${worst.to}`, worst.from, worst.to, TZ)];

    for (const w of windows) {
      const diff = differences((await agents(w)).agents, await rawAgents(db, w));
      if (diff.length) throw new Error(`the report and the raw GROUP BY disagree for ${w.name}: ${diff.join('; ')}`);
    }
    say('check: the agents report equals the raw GROUP BY (sent, responses, 4s+5s per agent) for every window');

    const results: Array<[string, Timing]> = [];
    for (const w of windows) results.push([`agents report, ${w.name} (rollup)`, await measure(() => agents(w), { warmup: WARMUP, runs: RUNS })]);
    results.push([`agents report, 3 years, one brand (detailed counters)`, await measure(() => agents(windows[1], { brand: 'acme' }), { warmup: WARMUP, runs: RUNS })]);
    // The data set has one question, so this filter keeps every row: the most a brand, question or variant filter reads.
    results.push([`agents report, 3 years, one question (detailed counters)`, await measure(() => agents(windows[1], { question: spec.questionId }), { warmup: WARMUP, runs: RUNS })]);
    const { team } = await db('agent_month_stats').first('team');
    results.push([`agents report, 3 years, one team (rollup)`, await measure(() => agents(windows[1], { team }), { warmup: WARMUP, runs: RUNS })]);
    for (const w of windows.slice(0, 2)) {
      // The raw query takes seconds at full size: one warm-up, and timing stops after RAW_BUDGET_S (at least 5 runs).
      results.push([`raw GROUP BY over surveys, ${w.name}`, await measure(() => rawAgents(db, w), { warmup: 1, runs: RUNS, budgetMs: RAW_BUDGET_S * 1000 })]);
    }
    say();
    say(table(['case', 'median ms', 'p95 ms', 'runs'], results.map(([name, t]) => [name, ms(t.median), ms(t.p95), String(t.runs)])));
    say();
    const threeYears = results[1][1];
    say(`target: 3-year agents report p95 < ${TARGET_P95_MS} ms: ${threeYears.p95 < TARGET_P95_MS ? 'met' : 'MISSED'} (${ms(threeYears.p95)} ms)`);
    for (const w of windows) {
      const read = await counterRowsRead(db, w);
      const raw = Number((await db('surveys').whereBetween('closed_at', [w.start, w.end]).count({ n: '*' }).first())?.n);
      say(`rows read, ${w.name}: ${int(read.rollup)} rollup rows in ${read.periods} periods; with a brand filter ${int(read.total)} detailed counter rows (${int(read.spans)} year and block + ${int(read.months)} month + ${int(read.days)} day); day counters alone would be ${int(read.dayOnly)}; raw surveys ${int(raw)}`);
    }
    await printPlans(db, () => agents(windows[1]), windows[1]);
    if (REBUILD) await timeRebuild(db, summary.surveys);
    else say('\nrebuild of the counters not timed: BENCH_REBUILD=1 times the online rebuild and checks it reproduces them (many minutes at full size, see BENCHMARKS.md)');
  } finally {
    await db.destroy();
  }
}

const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Counter rows the report reads: rollup periods unfiltered; with a brand filter years and blocks from the span counters, months and days from theirs. */
async function counterRowsRead(db: Db, w: Window) {
  const periods = coverPeriod(w.from, w.to);
  const count = async (table: string, column: string, among: string[]) => (among.length ? Number((await db(table).whereIn(column, among).count({ n: '*' }).first())?.n) : 0);
  const spans = await count(SPAN_TABLE, 'period', periods.filter((p) => p.length === 4 || p.includes('/')));
  const months = await count('agent_month_stats', 'month', periods.filter((p) => p.length === 7));
  const days = await count('agent_day_stats', 'day', periods.filter((p) => p.length === 10));
  const rollup = await count(ROLLUP_TABLE, 'period', periods);
  const dayOnly = Number((await db('agent_day_stats').whereBetween('day', [w.from, w.to]).count({ n: '*' }).first())?.n);
  return { rollup, periods: periods.length, spans, months, days, total: spans + months + days, dayOnly };
}

/** The window inside the data set, almost three years long, whose ends need the most rollup periods: the slowest case. */
function worstAligned(firstDay: string, today: string) {
  let worst = { from: firstDay, to: today, periods: 0 };
  for (let a = 0; a < 62; a++) {
    for (let b = 0; b < 62; b++) {
      const [from, to] = [addDaysTo(firstDay, a), addDaysTo(today, -b)];
      const periods = coverPeriod(from, to).length;
      if (periods > worst.periods) worst = { from, to, periods };
    }
  }
  return worst;
}

/**
 * Where one report's time goes: the statements it runs (captured from knex), each timed alone
 * (median of 10) with SQLite's plan; the rest of the report's time is JavaScript and knex.
 */
async function printPlans(db: Db, report: () => Promise<unknown>, w: Window) {
  const statements: Array<{ sql: string; bindings: Knex.RawBinding[] }> = [];
  const listen = (q: { sql: string; bindings?: Knex.RawBinding[] }) => statements.push({ sql: q.sql, bindings: q.bindings ?? [] });
  db.on('query', listen);
  await report();
  db.off('query', listen);
  say();
  say(`statements of one agents report, ${w.name} (each alone: median of 10 runs), and their plans:`);
  for (const s of statements.filter((x) => /^\s*select/i.test(x.sql))) {
    const alone = await measure(() => db.raw(s.sql, s.bindings), { warmup: 1, runs: 10 });
    say(`- ${ms(alone.median)} ms  ${s.sql.length > 150 ? `${s.sql.slice(0, 147)}...` : s.sql}`);
    for (const line of await explain(db, s.sql, s.bindings)) say(`  ${line}`);
  }
  say(`- raw GROUP BY`);
  for (const line of await explain(db, RAW_AGENTS_SQL, [w.start, w.end])) say(`  ${line}`);
}

/**
 * Times `npm run stats:rebuild`'s work (the online rebuild, its default step) and checks it reproduces the counters the data set
 * was written with. Also the longest and median step: each holds the write lock that long while webhooks wait.
 */
async function timeRebuild(db: Db, surveys: number) {
  const tables = ['agent_day_stats', 'agent_month_stats', SPAN_TABLE, ROLLUP_TABLE, 'agents'];
  for (const t of tables) await db.raw(`CREATE TABLE bench_${t} AS SELECT * FROM ${t}`);
  const steps: number[] = [];
  let last = process.hrtime.bigint();
  const onStep = () => {
    const now = process.hrtime.bigint();
    steps.push(Number(now - last) / 1e6);
    last = now;
  };
  let result: Awaited<ReturnType<typeof rebuildOnline>> | undefined;
  const took = await timeOnce(async () => {
    result = await rebuildOnline(db, TZ, { onStep });
  });
  if (typeof result !== 'object') throw new Error(`the rebuild did not finish: ${result}`);
  let mismatched = 0;
  for (const t of tables) {
    const [{ n }] = await db.raw<Array<{ n: number }>>(`SELECT (SELECT COUNT(*) FROM (SELECT * FROM bench_${t} EXCEPT SELECT * FROM ${t})) + (SELECT COUNT(*) FROM (SELECT * FROM ${t} EXCEPT SELECT * FROM bench_${t})) AS n`);
    mismatched += n;
  }
  const sorted = [...steps].sort((a, b) => a - b);
  say();
  say(`rebuild counters from ${int(surveys)} surveys: ${seconds(took)} (rebuildOnline, ${result.steps} steps of up to ${int(DEFAULT_BATCH)} surveys; step median ${ms(sorted[Math.floor(sorted.length / 2)])} ms, longest ${ms(sorted[sorted.length - 1])} ms, the swap and the old tables' drop ${ms(took - steps.reduce((a, b) => a + b, 0))} ms); result ${mismatched === 0 ? 'identical to' : `DIFFERS in ${int(mismatched)} rows from`} the counters written with the data set`);
  if (mismatched) process.exitCode = 1;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-'));
const cleanUp = () => fs.rmSync(dir, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}
const started = Date.now();
main(dir)
  .then(() => say(`\ntotal ${seconds(Date.now() - started)}; load average at end: ${loadAverage()}`))
  .catch((err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(cleanUp);
