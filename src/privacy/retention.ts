import type { Db } from '../shared/db';
import { safeError, type Logger } from '../shared/logger';
import { eraseClosedBefore } from './erase';
import type { Ledger } from '../surveys/counters/ledger';
import { removeMailBefore } from '../delivery/mail-files';

const DAY_MS = 86_400_000;
/**
 * An unsubscribe link works at least this long after its email, whatever RETENTION_DAYS says:
 * the FTC's CAN-SPAM guide asks that an opt-out mechanism work for 30 days after the message
 * (https://www.ftc.gov/business-guidance/resources/can-spam-act-compliance-guide-business).
 */
export const UNSUBSCRIBE_MIN_DAYS = 30;
/** Rows deleted per statement, so a first run over years of rows does not hold the writer for long. */
const CHUNK = 5000;

export type Retained = { surveys: number; comments: number; rating_events: number; link_events: number; unsubscribe_tokens: number; mail_files: number };

/** Deletes the rows of `table` created before `cutoff`, a chunk per statement; answers how many. */
async function deleteBefore(db: Db, table: string, key: string, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const chunk = db(table).where('created_at', '<', cutoff).select(key).limit(CHUNK);
    const n = await db(table).whereIn(key, chunk).delete();
    deleted += n;
    if (n < CHUNK) return deleted;
  }
}

/**
 * One RETENTION_DAYS pass: erases identity and comments of surveys closed more than `days` ago, and
 * deletes the rating-link events, unsubscribe links (kept at least UNSUBSCRIBE_MIN_DAYS) and .eml
 * files in MAIL_DIR older than that. Opt-outs stay, however old: they are keyed hashes that say
 * only "never survey this address", and forgetting one would survey someone who said no.
 */
export async function applyRetention(deps: { db: Db; ledger: Ledger; mailDir: string }, days: number, now: Date): Promise<Retained> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const linkCutoff = new Date(Math.min(cutoff.getTime(), now.getTime() - UNSUBSCRIBE_MIN_DAYS * DAY_MS));
  const erased = await eraseClosedBefore(deps.db, deps.ledger, cutoff, now);
  return {
    ...erased,
    link_events: await deleteBefore(deps.db, 'link_events', 'id', cutoff),
    unsubscribe_tokens: await deleteBefore(deps.db, 'unsubscribe_tokens', 'token_hash', linkCutoff),
    mail_files: await removeMailBefore(deps.mailDir, cutoff),
  };
}

/** RETENTION_DAYS: `retain` once at start and then daily (0 days: never). */
export function startRetention(deps: { retain: () => Promise<Retained>; logger: Logger; days: number }): () => void {
  if (deps.days <= 0) return () => {};
  const run = async () => {
    try {
      const retained = await deps.retain();
      if (Object.values(retained).some(Boolean)) deps.logger.info({ retained, days: deps.days }, 'retention: erased and deleted old data');
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
export function startReceiptPruning(deps: { prune: () => Promise<number>; logger: Logger; what?: string }): () => void {
  const what = deps.what ?? 'webhook receipts';
  const run = async () => {
    try {
      const pruned = await deps.prune();
      if (pruned) deps.logger.info({ pruned }, `${what} pruned`);
    } catch (err) {
      deps.logger.error({ err: safeError(err) }, `pruning ${what} failed; it runs again within the hour`);
    }
  };
  void run();
  const timer = setInterval(run, HOUR_MS);
  timer.unref();
  return () => clearInterval(timer);
}
