/**
 * `npm run bench`: the real service (dist/src/main.js, its own process) on a temporary SQLite
 * file, mailing to a local SMTP sink (its own process), loaded over loopback by autocannon from
 * a third process. Each figure is measured beside its ceiling in the same run, so the ratio
 * holds on a busy machine: ingest beside a bare express route with one INSERT, delivery beside
 * a bare nodemailer pool. Ratings, the rating page and peak memory are measured on the service
 * alone; the reports figure comes from bench/reports at a small scale with BENCH_REPORTS=1.
 * With BENCH_DATABASE_URL (postgres://…) the same figures follow on PostgreSQL, in a database made
 * for the run: one instance, then two behind a round-robin proxy, each beside a bare INSERT
 * through a pg pool; one table shows the three side by side.
 * Never part of `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSink } from './service/mailbox';
import { runReportsBench, type ReportsFigure } from './service/reports';
import { loadAverage, runBench } from './service/run';
import { printProfiles } from './service/print-profile';
import { figureRows, notes, type Figures } from './service/figures';
import { columnNotes, comparisonTable, type Column } from './service/compare';
import type { Setup } from './service/deployment';
import { measureSetup, type Settings } from './service/phases';
import { startPgRun, type PgRun } from './service/postgres';
import { sqliteStore } from './service/stores';
import { table } from './lib/timing';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const DURATION_S = env('BENCH_DURATION_S', 10);
const WARMUP_S = env('BENCH_WARMUP_S', 2);
const INGEST_WARMUP_S = env('BENCH_INGEST_WARMUP_S', 8);
const INGEST_ROUNDS = env('BENCH_INGEST_ROUNDS', 3);
const CONNECTIONS = env('BENCH_CONNECTIONS', 50);
const EMAILS = env('BENCH_EMAILS', 1000);
const DELIVERY_CONCURRENCY = env('BENCH_DELIVERY_CONCURRENCY', 5);
const RATING_RATE = env('BENCH_RATING_RATE', 500);
const RATING_S = env('BENCH_RATING_S', 5);
const RATINGS_MAX = env('BENCH_RATINGS_MAX', 2500);
const PREP_WIDTH = env('BENCH_PREP_WIDTH', 20);
const PACER = process.env.BENCH_RATE_WITH === 'autocannon' ? 'autocannon' : 'open-loop';
const REPORTS_SURVEYS = env('BENCH_REPORTS_SURVEYS', 200_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const REPORTS = process.env.BENCH_REPORTS === '1';
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const say = (line = '') => process.stdout.write(`${line}\n`);

let pgRun: PgRun | undefined;

async function main(dir: string, profileDir: string | undefined) {
  const cpus = os.cpus();
  say('Closeloop service benchmark');
  say(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; node ${process.version}`);
  say(`load average at start: ${loadAverage()} (other work on the machine slows every figure; ratios to the ceilings and CPU per request hold better)`);
  say(`settings: ${CONNECTIONS} connections; ${DURATION_S} s timed runs after ${WARMUP_S} s warm-ups (ingest: ${INGEST_WARMUP_S} s warm-ups, then ${INGEST_ROUNDS} rounds of the ceiling and the service, alternating); ${EMAILS} emails, DELIVERY_CONCURRENCY=${DELIVERY_CONCURRENCY}; ratings at ${RATING_RATE}/s for ${RATING_S} s, then ${RATINGS_MAX} as fast as possible; files in ${dir}`);
  if (DATABASE_URL) {
    pgRun = await startPgRun(DATABASE_URL);
    say(`then on ${pgRun.describe}: 1 instance, then 2 behind the bench's round-robin TCP proxy`);
  }
  if (profileDir) say(`profiling the service with --cpu-prof into ${profileDir} (the profiler slows it a little)`);
  say();

  const sink = await startSink();
  const settings: Settings = { dir, sink, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, ingestWarmupS: INGEST_WARMUP_S, ingestRounds: INGEST_ROUNDS, emails: EMAILS, deliveryConcurrency: DELIVERY_CONCURRENCY, ratingRate: RATING_RATE, ratingS: RATING_S, ratingsMax: RATINGS_MAX, prepWidth: PREP_WIDTH, pacer: PACER, say };
  const setups: (Setup & { profile?: string })[] = [
    { label: 'SQLite', store: sqliteStore(dir), instances: 1, profile: profileDir },
    ...(pgRun
      ? [
          { label: 'PG, 1 instance', store: pgRun.store('one'), instances: 1, profile: profileDir && path.join(profileDir, 'pg-1') },
          { label: 'PG, 2 instances', store: pgRun.store('two'), instances: 2, profile: profileDir && path.join(profileDir, 'pg-2') },
        ]
      : []),
  ];
  const columns: (Column & { profile?: string })[] = [];
  for (const setup of setups) {
    if (pgRun) say(`— ${setup.label} —`);
    const figures = await measureSetup(setup, { ...settings, profileDir: setup.profile });
    await setup.store.dispose?.();
    columns.push({ label: setup.label, figures, profile: setup.profile });
  }
  let reports: ReportsFigure | undefined;
  if (REPORTS) {
    say(`reports: bench/reports at ${REPORTS_SURVEYS.toLocaleString('en-US')} surveys (it builds its own data set)`);
    reports = await runReportsBench(REPORTS_SURVEYS, 10);
  }
  columns[0].figures.reports = reports;

  say();
  if (columns.length === 1) {
    const figures: Figures = columns[0].figures;
    say(table(['figure', 'value', 'ceiling', 'ratio', 'goal', 'met?'], figureRows(figures)));
    say();
    for (const line of notes(figures)) say(line);
  } else {
    const { header, rows } = comparisonTable(columns);
    say(table(header, rows));
    say();
    say(`ceilings: SQLite's is ${sqliteStore(dir).ceiling.describe}; each PG column's is ${setups[1].store.ceiling.describe}, measured just before it; PG, 2 instances: peak RSS is the larger instance's, and the delivery ceiling has both pools' connections and sends in flight`);
    for (const line of columns.flatMap(columnNotes)) say(line);
  }
  for (const c of columns) {
    if (!c.profile) continue;
    const { ingest, delivery, ratings } = c.figures;
    if (columns.length > 1) say(`\nprofiles, ${c.label} (of the first instance):`);
    printProfiles(
      c.profile,
      {
        ingest: { fromUs: ingest.service.load.startUs, toUs: ingest.service.load.endUs },
        delivery: { fromUs: delivery.service.fromUs, toUs: delivery.service.toUs },
        rating: { fromUs: ratings.max.startUs, toUs: ratings.max.endUs },
      },
      say,
    );
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-'));
const profileDir = PROFILE ? (process.env.BENCH_PROFILE_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-profile-'))) : undefined;
runBench({ name: 'bench', dir, pg: () => pgRun, main: () => main(dir, profileDir), say });
