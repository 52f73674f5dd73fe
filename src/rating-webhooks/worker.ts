import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { createOutboxPoller, type WorkerOptions } from '../shared/outbox-poller';
import { nextStep } from '../shared/backoff';
import { signBody } from '../shared/signature';
import type { Metrics, OutboxTransition } from '../shared/metrics';
import * as repo from './repository';

const TIMEOUT_MS = 10_000;

/**
 * POSTs queued rating events to their receivers, signed like our inbound webhook
 * (X-Closeloop-Timestamp, X-Closeloop-Signature). A 2xx answer is delivered; anything else
 * retries with backoff up to the delivery attempts, then the event is marked failed. Redirects
 * are never followed (a 307 would re-post the signed event, comment included, wherever it points,
 * internal addresses too): a 3xx is a failed attempt like a 5xx.
 */
export function createHookWorker(deps: { db: Db; clock: Clock; logger: Logger; secret: string; options: WorkerOptions; metrics?: Metrics }) {
  const { db, clock, logger, options } = deps;

  /** A transition that found its claim gone changed nothing: say so (the event body is not logged). */
  function lostClaim(row: repo.HookRow, transition: OutboxTransition) {
    deps.metrics?.lostClaims.inc({ outbox: 'hook', transition });
    logger.warn({ hookId: row.id, attempt: row.attempts, transition }, 'rating webhook no longer held by this claim (lease ran out): left unchanged');
  }

  async function post(row: repo.HookRow): Promise<void> {
    const timestamp = String(Math.floor(clock.now().getTime() / 1000));
    let error: string;
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        // Signed when there is a key (RATING_WEBHOOK_SECRET); an alert webhook alone (ALERT_WEBHOOK_URL) has none to check.
        headers: {
          'Content-Type': 'application/json',
          ...(deps.secret && { 'X-Closeloop-Timestamp': timestamp, 'X-Closeloop-Signature': signBody(deps.secret, timestamp, row.body) }),
        },
        body: row.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        if (!(await repo.markHookSent(db, row, clock.now()))) lostClaim(row, 'sent');
        return;
      }
      error = res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}`;
    } catch (err) {
      error = String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message ?? err).slice(0, 300);
    }
    const now = clock.now();
    const log = logger.child({ hookId: row.id, attempt: row.attempts, receiver: new URL(row.url).host });
    // Every receiver failure is worth another try (a 4xx may be a receiver being redeployed) until the attempts run out.
    const next = nextStep(row.attempts, { temporary: true }, options, now);
    if (!next.retry) {
      if (!(await repo.markHookFailed(db, row, error, now))) return lostClaim(row, 'failed');
      log.warn({ error }, 'rating webhook failed for good');
    } else {
      if (!(await repo.markHookRetry(db, row, next.dueAt, error, now))) return lostClaim(row, 'retry');
      log.info({ error, retryInMs: next.delayMs }, 'rating webhook will be retried');
    }
  }

  return createOutboxPoller({
    clock,
    logger,
    options,
    claim: (now, leaseUntil, limit) => repo.claimDueHooks(db, now, leaseUntil, limit),
    handle: post,
    messages: { stepFailed: 'rating webhook step failed; it returns after its lease', pollFailed: 'rating webhook poll failed' },
  });
}
