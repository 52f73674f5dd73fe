const MAX_DELAY_MS = 6 * 3600_000;

/** Exponential backoff with jitter: base·2^(attempt-1), scaled by a random 50–100 %, capped at 6 h. */
export function retryDelayMs(attempt: number, baseSeconds: number, random: () => number = Math.random): number {
  const exponential = Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempt - 1), MAX_DELAY_MS);
  return Math.round(exponential * (0.5 + random() * 0.5));
}

/**
 * After a failed attempt: fail for good when the failure is permanent or the attempts ran out,
 * else retry after the backoff. The one rule for every outbox's worker.
 */
export function nextStep(attempt: number, failure: { temporary: boolean }, options: { maxAttempts: number; retryBaseSeconds: number }, now: Date): { retry: false } | { retry: true; dueAt: Date; delayMs: number } {
  if (!failure.temporary || attempt >= options.maxAttempts) return { retry: false };
  const delayMs = retryDelayMs(attempt, options.retryBaseSeconds);
  return { retry: true, dueAt: new Date(now.getTime() + delayMs), delayMs };
}
