import path from 'node:path';
import type { Target } from './requests';
import { nextMessage, startNode, stop } from './processes';

export type LoadSpec = {
  url: string;
  target: Target;
  connections: number;
  /** Run for this long (closed loop), or until `amount` requests have been answered. */
  durationS?: number;
  amount?: number;
  /** Open loop: this many requests per second, evenly spaced. */
  pacedRate?: number;
  /** autocannon's own rate limit instead (each connection sends its share of a second back to back). */
  overallRate?: number;
};

export type LoadResult = {
  /** Answers with the status the target expects (202 for a webhook, 200 for a rating or page). */
  ok: number;
  requests: number;
  seconds: number;
  /** `ok` per second, and every answer per second whatever its status. */
  perSecond: number;
  answeredPerSecond: number;
  status: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Milliseconds, over every answer. */
  p50: number;
  p99: number;
  /** The run's bounds on the monotonic clock, to cut the service's CPU profile to it. */
  startUs: number;
  endUs: number;
  /** CPU time the load generator itself used over the run (all its threads). */
  cpuMs: number;
};

/** One load run in a fresh load-generator process (see load.ts). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { child } = startNode(path.join(__dirname, 'load.js'));
  try {
    const answer = nextMessage<{ type: 'result'; result: LoadResult } | { type: 'failed'; message: string }>(child, ['result', 'failed'], 600_000);
    child.send(spec);
    const m = await answer;
    if (m.type === 'failed') throw new Error(`load generator: ${m.message}`);
    return m.result;
  } finally {
    await stop(child);
  }
}

/** Anything but the expected status, errors and timeouts, for the notes under the table; empty when clean. */
export function anomalies(name: string, r: LoadResult, expected: number): string[] {
  const other = Object.entries(r.status).filter(([code]) => Number(code) !== expected);
  const parts = [...other.map(([code, n]) => `${n} × ${code}`), ...(r.errors ? [`${r.errors} connection errors`] : []), ...(r.timeouts ? [`${r.timeouts} timeouts`] : [])];
  return parts.length ? [`${name}: ${parts.join(', ')} besides ${r.ok} × ${expected}`] : [];
}
