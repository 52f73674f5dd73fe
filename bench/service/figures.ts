import { anomalies } from './cannon';
import type { IngestFigures } from './ingest';
import type { DeliveryFigures } from './delivery';
import type { RatingFigures } from './ratings';
import type { ReportsFigure } from './reports';
import type { Cpu, Writes } from './usage';

export type Figures = { ingest: IngestFigures; delivery: DeliveryFigures; ratings: RatingFigures; reports?: ReportsFigure; ratingRate: number; pacer: 'open-loop' | 'autocannon' };

/** The issue's goals. */
export const GOALS = { ingestRatio: 0.6, ingestPerSecond: 2000, ratingP99Ms: 10, deliveryRatio: 0.8, reportP95Ms: 100, peakMB: 200 };

const count = (x: number) => Math.round(x).toLocaleString('en-US');
const ms = (x: number) => x.toFixed(1);
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const met = (ok: boolean) => (ok ? 'yes' : 'NO');
const mb = (bytes?: number) => (bytes === undefined ? 'unknown' : (bytes / 1e6).toFixed(0));
/** CPU milliseconds per item, e.g. "2.41 (1.90 main)": all threads, and the event loop's share. */
const cpuPer = (cpu: Cpu | undefined, items: number) => (cpu && items ? `${(cpu.totalMs / items).toFixed(2)} (${(cpu.mainMs / items).toFixed(2)} main)` : 'unknown');
/** KiB handed to write calls per item, and how many calls, e.g. "62.7 (28.9 calls)". */
const writesPer = (w: Writes | undefined, items: number) => (w && items ? `${(w.bytes / 1024 / items).toFixed(1)} (${(w.calls / items).toFixed(1)} calls)` : 'unknown');
const writesRatio = (a: Writes | undefined, ai: number, b: Writes | undefined, bi: number) => (a && b && ai && bi ? ratio(a.bytes / ai, b.bytes / bi) : '');
const cpuRatio = (a: Cpu | undefined, ai: number, b: Cpu | undefined, bi: number) => (a && b && ai && bi ? ratio(a.totalMs / ai, b.totalMs / bi) : '');

/** Rows of the table: figure | value | ceiling | ratio | goal | met?. A latency or CPU ratio above 1 is the service costing more. */
export function figureRows(f: Figures): string[][] {
  const { ingest, delivery, ratings, reports } = f;
  const [svc, ceil] = [ingest.service.load, ingest.ceiling.load];
  const misses = [svc.perSecond / ceil.perSecond >= GOALS.ingestRatio ? '' : 'ratio', svc.perSecond >= GOALS.ingestPerSecond ? '' : 'rate'].filter(Boolean);
  const paced = ratings.paced;
  const pacedClean = paced.ok === paced.requests && paced.errors === 0;
  const [mail, bare] = [delivery.service, delivery.ceiling];
  const peakMB = ingest.peakBytes === undefined ? undefined : ingest.peakBytes / 1e6;
  return [
    [`webhook ingest, accepted/s (median of ${ingest.rounds.length} rounds)`, count(svc.perSecond), count(ceil.perSecond), ratio(svc.perSecond, ceil.perSecond), `≥ ${GOALS.ingestRatio} × ceiling, ≥ ${count(GOALS.ingestPerSecond)}/s`, misses.length ? `NO (${misses.join(', ')})` : 'yes'],
    ['webhook ingest, p50 ms', ms(svc.p50), ms(ceil.p50), ratio(svc.p50, ceil.p50), '', ''],
    ['webhook ingest, p99 ms', ms(svc.p99), ms(ceil.p99), ratio(svc.p99, ceil.p99), '', ''],
    ['webhook ingest, CPU ms per webhook', cpuPer(ingest.service.cpu, svc.ok), cpuPer(ingest.ceiling.cpu, ceil.ok), cpuRatio(ingest.service.cpu, svc.ok, ingest.ceiling.cpu, ceil.ok), '', ''],
    ['webhook ingest, KiB written per webhook', writesPer(ingest.service.writes, svc.ok), writesPer(ingest.ceiling.writes, ceil.ok), writesRatio(ingest.service.writes, svc.ok, ingest.ceiling.writes, ceil.ok), '', ''],
    [`rating POST, p99 ms at ${f.ratingRate}/s`, ms(paced.p99), '', '', `< ${GOALS.ratingP99Ms} ms`, met(paced.p99 < GOALS.ratingP99Ms && pacedClean)],
    ['rating POST, max recorded/s', count(ratings.max.perSecond), '', '', '', ''],
    ['rating POST at max, p99 ms', ms(ratings.max.p99), '', '', '', ''],
    ['rating POST at max, CPU ms per rating', cpuPer(ratings.maxCpu, ratings.max.ok), '', '', '', ''],
    ['rating page GET, pages/s', count(ratings.page.perSecond), '', '', '', ''],
    ['rating page GET, p99 ms', ms(ratings.page.p99), '', '', '', ''],
    ['delivery, emails/s to the SMTP sink', count(mail.perSecond), count(bare.perSecond), ratio(mail.perSecond, bare.perSecond), `≥ ${GOALS.deliveryRatio} × ceiling`, met(mail.perSecond / bare.perSecond >= GOALS.deliveryRatio)],
    ['delivery, CPU ms per email', cpuPer(mail.cpu, mail.count - 1), cpuPer(bare.cpu, bare.count - 1), cpuRatio(mail.cpu, mail.count - 1, bare.cpu, bare.count - 1), '', ''],
    ['delivery, bare pool with TCP_NODELAY, emails/s (diagnostic)', count(delivery.noDelay.perSecond), '', '', '', ''],
    reports
      ? [`reports, 3-year agents report p95 ms (${count(reports.surveys)} surveys; ceiling: raw GROUP BY)`, ms(reports.reportP95), ms(reports.rawP95), ratio(reports.reportP95, reports.rawP95), `< ${GOALS.reportP95Ms} ms at 5M surveys`, 'n/a at this scale']
      : ['reports, 3-year agents report p95 ms', 'not run', '', '', `< ${GOALS.reportP95Ms} ms at 5M surveys`, 'BENCH_REPORTS=1, or npm run bench:reports'],
    ['memory, service peak RSS through ingest, MB', mb(ingest.peakBytes), '', '', `< ${GOALS.peakMB} MB`, peakMB === undefined ? '' : met(peakMB < GOALS.peakMB)],
  ];
}

/** What the table leaves out: counts, spans, anything but the expected answers. */
export function notes(f: Figures): string[] {
  const { ingest, delivery, ratings } = f;
  const [svc, ceil] = [ingest.service.load, ingest.ceiling.load];
  return [
    ...anomalies('ingest, service', svc, 202),
    ...anomalies('ingest, ceiling', ceil, 202),
    ...ingest.untimed.flatMap((w) => anomalies('an untimed ingest run', w, 202)),
    ...anomalies('rating POST, paced', ratings.paced, 200),
    ...anomalies('rating POST, max', ratings.max, 200),
    ...anomalies('rating page GET', ratings.page, 200),
    ...anomalies('rating page GET, warm-up', ratings.warmup, 200),
    ...anomalies('rating POST, warm-up', ratings.postWarmup, 200),
    `ingest: ${count(svc.ok)} webhooks accepted in ${svc.seconds.toFixed(1)} s (ceiling ${count(ceil.ok)}) in the median round; ${count(ingest.scheduled)} surveys scheduled in all`,
    `ingest rounds, ceiling then service, accepted/s: ${ingest.rounds.map((r) => `${count(r.ceiling)} / ${count(r.service)} = ${ratio(r.service, r.ceiling)}`).join('; ')}`,
    `memory: service RSS ${mb(ingest.startBytes)} MB when ready, peak ${mb(ingest.peakBytes)} MB through warm-up and timed ingest`,
    `delivery: ${count(delivery.service.count)} emails in ${delivery.service.seconds.toFixed(1)} s from the service, ${delivery.ceiling.seconds.toFixed(1)} s from the bare pool, ` +
      `${delivery.noDelay.seconds.toFixed(1)} s from the bare pool with TCP_NODELAY (first to last arrival at the sink; nodemailer 10 turns Nagle off itself, older majors left it on)` +
      (delivery.tokenCheck ? '' : '; WARNING: the token the sink read is not in the parsed email'),
    `rating POST at ${f.ratingRate}/s: ${count(ratings.paced.ok)} recorded, offered at ${f.ratingRate}/s, answered at ${count(ratings.paced.answeredPerSecond)}/s over ${ratings.paced.seconds.toFixed(1)} s, p50 ${ms(ratings.paced.p50)} ms ` +
      (f.pacer === 'open-loop'
        ? '(open loop: latency counts from when each request was due, so a service slower than the rate shows a growing queue)'
        : "(autocannon's overallRate: each connection sends its share of a second back to back, then waits)"),
  ];
}
