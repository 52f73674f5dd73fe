const MAX_DELAY_MS = 6 * 3600_000;

/** Exponential backoff with jitter: base·2^(attempt-1), scaled by a random 50–100 %, capped at 6 h. */
export function retryDelayMs(attempt: number, baseSeconds: number, random: () => number = Math.random): number {
  const exponential = Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1), MAX_DELAY_MS);
  return Math.round(exponential * (0.5 + random() * 0.5));
}
