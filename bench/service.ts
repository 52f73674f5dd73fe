/**
 * `npm run bench`: the real service (dist/src/main.js, its own process) on a temporary SQLite
 * file, mailing to a local SMTP sink (its own process), loaded over loopback by autocannon from
 * a third process. Each figure is measured beside its ceiling in the same run, so the ratio
 * holds on a busy machine: ingest beside a bare express route with one INSERT, delivery beside
 * a bare nodemailer pool. Ratings, the rating page and peak memory are measured on the service
 * alone; the reports figure comes from bench/reports at a small scale with BENCH_REPORTS=1.
 * Never part of `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureIngest } from './service/ingest';
import { measureDelivery, prepareRatedSurveys } from './service/delivery';
import { startSink } from './service/mailbox';
import { measureRatings, type RatingFigures } from './service/ratings';
import { runReportsBench, type ReportsFigure } from './service/reports';
import { signalAll, stopAll } from './service/processes';
import { printProfiles } from './service/print-profile';
import { figureRows, notes, type Figures } from './service/figures';
import { table } from './lib/timing';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const DURATION_S = env('BENCH_DURATION_S', 10);
const WARMUP_S = env('BENCH_WARMUP_S', 2);
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
const say = (line = '') => process.stdout.write(`${line}\n`);
const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(dir: string, profileDir: string | undefined) {
  const cpus = os.cpus();
  say('Closeloop service benchmark');
  say(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; node ${process.version}`);
  say(`load average at start: ${loadAverage()} (other work on the machine slows every figure; ratios to the ceilings and CPU per request hold better)`);
  say(`settings: ${CONNECTIONS} connections; ${DURATION_S} s timed runs after ${WARMUP_S} s warm-ups; ${EMAILS} emails, DELIVERY_CONCURRENCY=${DELIVERY_CONCURRENCY}; ratings at ${RATING_RATE}/s for ${RATING_S} s, then ${RATINGS_MAX} as fast as possible; files in ${dir}`);
  if (profileDir) say(`profiling the service with --cpu-prof into ${profileDir} (the profiler slows it a little)`);
  say();

  // Every POST rates a survey nobody rated yet: a warm-up at the paced rate, the paced run, the run at full speed.
  const ratingsWanted = { warm: Math.round(RATING_RATE * WARMUP_S), paced: Math.round(RATING_RATE * RATING_S), max: RATINGS_MAX };
  const ratingsTotal = ratingsWanted.warm + ratingsWanted.paced + ratingsWanted.max;
  const surveysWanted = Math.max(EMAILS, ratingsTotal);
  const profile = (phase: string) => profileDir && path.join(profileDir, phase);
  const sink = await startSink();
  const ingest = await measureIngest({ dir, sinkPort: sink.port, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, surveysWanted, profileDir: profile('ingest'), say });
  const delivery = await measureDelivery({ dir, sink, emails: Math.min(EMAILS, ingest.scheduled), concurrency: DELIVERY_CONCURRENCY, profileDir: profile('delivery'), say });

  const more = Math.max(0, ratingsTotal - delivery.service.tokens.length);
  const prepared = await prepareRatedSurveys({ dir, sink, count: more, width: PREP_WIDTH, profileDir: profile('ratings'), say });
  let ratings: RatingFigures;
  try {
    const tokens = [...delivery.service.tokens, ...prepared.tokens];
    // Fewer surveys than wanted (a short ingest): both rating runs shrink in proportion.
    const share = Math.min(1, tokens.length / ratingsTotal);
    const warmCount = Math.floor(ratingsWanted.warm * share);
    const pacedCount = Math.floor(ratingsWanted.paced * share);
    const { url, pid } = prepared.running;
    const maxCount = Math.min(ratingsWanted.max, tokens.length - warmCount - pacedCount);
    ratings = await measureRatings({ dir, url, pid, tokens, rate: RATING_RATE, pacer: PACER, warmCount, pacedCount, maxCount, connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, say });
  } finally {
    await prepared.running.stop();
  }
  let reports: ReportsFigure | undefined;
  if (REPORTS) {
    say(`reports: bench/reports at ${REPORTS_SURVEYS.toLocaleString('en-US')} surveys (it builds its own data set)`);
    reports = await runReportsBench(REPORTS_SURVEYS, 10);
  }

  const figures: Figures = { ingest, delivery, ratings, reports, ratingRate: RATING_RATE, pacer: PACER };
  say();
  say(table(['figure', 'value', 'ceiling', 'ratio', 'goal', 'met?'], figureRows(figures)));
  say();
  for (const line of notes(figures)) say(line);
  if (profileDir) {
    printProfiles(
      profileDir,
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
const cleanUp = () => fs.rmSync(dir, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    signalAll();
    cleanUp();
    process.exit(130);
  });
}
const started = Date.now();
main(dir, profileDir)
  .then(() => say(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s; load average at end: ${loadAverage()}`))
  .catch((err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(() => stopAll().then(cleanUp));
