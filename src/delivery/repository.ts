import { forClaim, type Db } from '../shared/db';
import type { Ledger } from '../reports/ledger';

export type OutboxRow = { id: number; surveyId: string; attempts: number; leaseUntil: Date; requestId?: string | null };

/**
 * Takes up to `limit` due rows and leases them until `leaseUntil`: a row whose
 * worker died mid-send becomes due again when the lease runs out.
 */
export async function claimDueOutboxRows(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<OutboxRow[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(
      db,
      trx('outbox')
        .where('status', 'pending')
        .andWhere('due_at', '<=', now)
        .andWhere((q) => q.whereNull('locked_until').orWhere('locked_until', '<=', now))
        .orderBy('due_at')
        .limit(limit)
        .select('id', 'survey_id', 'attempts', 'request_id'),
    );
    if (rows.length === 0) return [];
    await trx('outbox')
      .whereIn('id', rows.map((r) => r.id))
      .update({ locked_until: leaseUntil, attempts: trx.raw('attempts + 1'), updated_at: now });
    return rows.map((r) => ({ id: r.id, surveyId: r.survey_id, attempts: r.attempts + 1, leaseUntil, requestId: r.request_id ?? null }));
  });
}

/**
 * Ends a claimed send: the outbox row, the survey's status and its counters move together in one
 * transaction, and only while this claim still owns the row (pending, under the lease it was
 * claimed with); a reopen may have cancelled it meanwhile.
 */
async function finish(db: Db, ledger: Ledger, row: OutboxRow, status: 'sent' | 'failed', error: string | null, now: Date): Promise<void> {
  await db.transaction(async (trx) => {
    const updated = await trx('outbox')
      .where({ id: row.id, status: 'pending', locked_until: row.leaseUntil })
      .update({ status, locked_until: null, last_error: error, updated_at: now });
    if (updated === 0) return;
    const before = await ledger.read(trx, row.surveyId);
    await trx('surveys').where({ id: row.surveyId }).update({ status, last_error: error, updated_at: now, ...(status === 'sent' && { sent_at: now }) });
    await ledger.record(trx, before, { ...before, status });
  });
}

export const markSent = (db: Db, ledger: Ledger, row: OutboxRow, now: Date) => finish(db, ledger, row, 'sent', null, now);

export const markFailed = (db: Db, ledger: Ledger, row: OutboxRow, error: string, now: Date) => finish(db, ledger, row, 'failed', error, now);

export async function markRetry(db: Db, row: OutboxRow, dueAt: Date, error: string, now: Date): Promise<void> {
  await db('outbox').where({ id: row.id }).update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now });
}

