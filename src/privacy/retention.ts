import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { safeError, type Logger } from '../shared/logger';
import { eraseClosedBefore } from './erase';
import type { Ledger } from '../reports/ledger';

const DAY_MS = 86_400_000;

/** RETENTION_DAYS: once at start and then daily, erases identity and comments of surveys closed longer ago. */
export function startRetention(deps: { db: Db; ledger: Ledger; clock: Clock; logger: Logger; days: number }): () => void {
  if (deps.days <= 0) return () => {};
  const run = async () => {
    try {
      const cutoff = new Date(deps.clock.now().getTime() - deps.days * DAY_MS);
      const erased = await eraseClosedBefore(deps.db, deps.ledger, cutoff, deps.clock.now());
      if (erased.surveys) deps.logger.info({ erased, cutoff }, 'retention: erased old survey data');
    } catch (err) {
      deps.logger.error({ err: safeError(err) }, 'retention run failed; it runs again tomorrow');
    }
  };
  void run();
  const timer = setInterval(run, DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

const HOUR_MS = 3_600_000;

/**
 * Webhook receipts (surveys/receipts.ts) older than RECEIPT_DAYS: deleted once at start and then
 * hourly, whatever RETENTION_DAYS says (they hold survey ids and answers, no customer data, and past
 * their window they serve nothing). Replays are decided by the receipts' age, not by this timer.
 */
export function startReceiptPruning(deps: { prune: () => Promise<number>; logger: Logger }): () => void {
  const run = async () => {
    try {
      const pruned = await deps.prune();
      if (pruned) deps.logger.info({ pruned }, 'webhook receipts pruned');
    } catch (err) {
      deps.logger.error({ err: safeError(err) }, 'pruning webhook receipts failed; it runs again within the hour');
    }
  };
  void run();
  const timer = setInterval(run, HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
