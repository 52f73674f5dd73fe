import { forClaim, type Db } from '../shared/db';
import type { Ledger } from '../surveys/counters/ledger';
import { finishSends, type Finish, type OutboxClaim } from '../surveys/state';
import { dueAndFree, HELD, held, leaseRows } from '../shared/outbox-poller';

export { finishSends, type Finish };

/** A claimed row: its claim (surveys/state.ts ends it with its survey). */
export type OutboxRow = OutboxClaim;

/**
 * Takes up to `limit` due rows and leases them until `leaseUntil`: a row whose
 * worker died mid-send becomes due again when the lease runs out.
 */
export async function claimDueOutboxRows(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<OutboxRow[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(
      db,
      dueAndFree(trx('outbox'), now)
        .orderBy('due_at')
        .limit(limit)
        .select('id', 'survey_id', 'attempts', 'request_id'),
    );
    if (rows.length === 0) return [];
    await leaseRows(trx, 'outbox', rows.map((r) => r.id), leaseUntil, now);
    return rows.map((r) => ({ id: r.id, surveyId: r.survey_id, attempts: r.attempts + 1, leaseUntil, requestId: r.request_id ?? null }));
  });
}

/** One finish in its own transaction; answers whether the claim still held. */
const finishOne = (db: Db, ledger: Ledger, finish: Finish, reminderAfterMs = 0) => db.transaction(async (trx) => (await finishSends(trx, ledger, [finish], reminderAfterMs))[0]);

/** Ends a claimed send as sent; with `reminderAfterMs`, queues its reminder that long after (REMINDER_AFTER_HOURS). */
export const markSent = (db: Db, ledger: Ledger, row: OutboxRow, now: Date, reminderAfterMs = 0) => finishOne(db, ledger, { row, status: 'sent', error: null, now }, reminderAfterMs);

export const markFailed = (db: Db, ledger: Ledger, row: OutboxRow, error: string, now: Date) => finishOne(db, ledger, { row, status: 'failed', error, now });

/** Releases the claim and makes the row due again at `dueAt`; answers false (and changes nothing) if the claim no longer held. */
export async function markRetry(db: Db, row: OutboxRow, dueAt: Date, error: string, now: Date): Promise<boolean> {
  const changed = await db('outbox')
    .whereRaw(HELD, held(row))
    .update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now });
  return changed > 0;
}
