import type { FollowupFacts } from './repository';
import { percent } from './stats';

/**
 * What leads did about low ratings, for one agent or a whole report: `low_ratings` (follow-ups
 * opened), `followed_up` (a lead acted on them: took, noted, changed or resolved), its share,
 * the median hours from opening to that first action, and `recovered` (resolved as recovered, by
 * the customer's better rating or a lead's outcome) with its share. Shares are percentages with two
 * decimals, null without low ratings; the median is in hours with two decimals, null without actions.
 */
export type FollowupFigures = {
  low_ratings: number;
  followed_up: number;
  followed_up_pct: number | null;
  median_hours_to_first_action: number | null;
  recovered: number;
  recovered_pct: number | null;
};

const HOUR_MS = 3_600_000;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function followupFigures(followups: readonly FollowupFacts[]): FollowupFigures {
  const acted = followups.filter((f) => f.firstActionAt !== null);
  const recovered = followups.filter((f) => f.outcome === 'recovered').length;
  const hours = median(acted.map((f) => (f.firstActionAt!.getTime() - f.openedAt.getTime()) / HOUR_MS));
  const n = followups.length;
  return {
    low_ratings: n,
    followed_up: acted.length,
    followed_up_pct: n ? percent(acted.length / n) : null,
    median_hours_to_first_action: hours === null ? null : Math.round(hours * 100) / 100,
    recovered,
    recovered_pct: n ? percent(recovered / n) : null,
  };
}

/** The figures per agent id ('' for surveys without an agent). */
export function followupFiguresByAgent(followups: readonly FollowupFacts[]): Map<string, FollowupFigures> {
  const byAgent = new Map<string, FollowupFacts[]>();
  for (const f of followups) byAgent.set(f.agentId, [...(byAgent.get(f.agentId) ?? []), f]);
  return new Map([...byAgent].map(([agent, list]) => [agent, followupFigures(list)]));
}
