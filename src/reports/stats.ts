import { SUPPRESSION_REASONS, type SuppressionReason } from '../surveys/eligibility';
import type { Counts } from '../surveys/counters/ledger';

const Z95 = 1.959963984540054;

/** The 95% Wilson score interval of k successes in n trials, as fractions; null when n = 0. */
export function wilson(k: number, n: number): { low: number; high: number } | null {
  if (n === 0) return null;
  const p = k / n;
  const z2 = Z95 * Z95;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Percentages are rounded to two decimals, once, at the end; every count stays exact. */
export const percent = (fraction: number): number => Math.round(fraction * 10_000) / 100;

export type Summary = {
  surveys_sent: number;
  suppressed: number;
  failed: number;
  cancelled: number;
  suppressed_by_reason: Record<SuppressionReason, number>;
  responses: number;
  response_rate: number | null;
  csat: number | null;
  csat_ci_low: number | null;
  csat_ci_high: number | null;
  avg_score: number | null;
  distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
  comments: number;
  low_sample: boolean;
};

/** Turns exact counts into the report's numbers; a ratio with a zero denominator is null, not 0. */
export function summarize(c: Counts, minSample: number): Summary {
  const satisfied = c.score_4 + c.score_5;
  const scoreSum = c.score_1 + 2 * c.score_2 + 3 * c.score_3 + 4 * c.score_4 + 5 * c.score_5;
  const interval = wilson(satisfied, c.responses);
  return {
    surveys_sent: c.sent,
    suppressed: c.suppressed,
    failed: c.failed,
    cancelled: c.cancelled,
    suppressed_by_reason: Object.fromEntries(SUPPRESSION_REASONS.map((r) => [r, c[`suppressed_${r}`]])) as Summary['suppressed_by_reason'],
    responses: c.responses,
    response_rate: c.sent ? percent(c.responses / c.sent) : null,
    csat: c.responses ? percent(satisfied / c.responses) : null,
    csat_ci_low: interval && percent(interval.low),
    csat_ci_high: interval && percent(interval.high),
    avg_score: c.responses ? Math.round((scoreSum / c.responses) * 100) / 100 : null,
    distribution: { '1': c.score_1, '2': c.score_2, '3': c.score_3, '4': c.score_4, '5': c.score_5 },
    comments: c.comments,
    low_sample: c.responses < minSample,
  };
}
