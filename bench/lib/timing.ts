export type Timing = { median: number; p95: number; runs: number };

/** Milliseconds one call of `fn` takes, on a monotonic clock. */
export async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * `warmup` untimed calls (caches, JIT), then up to `runs` timed calls one after another. With a
 * `budgetMs`, timing stops once the timed calls have taken that long and at least `minRuns` ran,
 * so a query of many seconds does not hold the run up for minutes.
 */
export async function measure(fn: () => Promise<unknown>, o: { warmup: number; runs: number; budgetMs?: number; minRuns?: number }): Promise<Timing> {
  for (let i = 0; i < o.warmup; i++) await fn();
  const times: number[] = [];
  let spent = 0;
  while (times.length < o.runs && (o.budgetMs === undefined || spent < o.budgetMs || times.length < (o.minRuns ?? 5))) {
    times.push(await timeOnce(fn));
    spent += times[times.length - 1];
  }
  return summarizeTimes(times);
}

/** Median (mean of the middle two for an even count) and p95 by nearest rank: the ceil(0.95 n)-th fastest run. */
export function summarizeTimes(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { median, p95: sorted[Math.ceil(0.95 * n) - 1], runs: n };
}

/** A Markdown table, so the output can be pasted into BENCHMARKS.md as printed. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export const ms = (value: number) => value.toFixed(1);
export const int = (value: number) => value.toLocaleString('en-US');
