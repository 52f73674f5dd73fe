import type { Knex } from 'knex';
import { forClaim, isPostgres, type Db } from '../shared/db';
import { SURVEY_FACT_COLUMNS, toFacts, type Ledger, type SurveyChange } from '../reports/ledger';
import { inList, query, together } from '../shared/statements';

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

export type Finish = { row: OutboxRow; status: 'sent' | 'failed'; error: string | null; now: Date };

/**
 * Ends claimed sends in the caller's transaction: each outbox row, its survey's status and its
 * counters move together, and only while the claim still owns the row (pending, under the lease
 * it was claimed with); a reopen may have cancelled it meanwhile.
 */
export async function finishSends(trx: Knex.Transaction, ledger: Ledger, finishes: readonly Finish[]): Promise<void> {
  // One outbox row per survey, so every statement below touches rows no other one does: they go together.
  const updated = await together(
    trx,
    finishes.map((f) => () =>
      query(
        trx,
        `UPDATE outbox SET status = ?, locked_until = NULL, last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND locked_until = ? RETURNING id`,
        [f.status, f.error, f.now, f.row.id, f.row.leaseUntil],
      ),
    ),
  );
  const owned = finishes.filter((_f, i) => updated[i].length > 0);
  if (owned.length === 0) return;
  const ids = owned.map((f) => f.row.surveyId);
  const among = inList(ids);
  const rows = await query(trx, `SELECT id, ${SURVEY_FACT_COLUMNS.join(', ')} FROM surveys WHERE id IN ${among.sql} ORDER BY id${isPostgres(trx) ? ' FOR UPDATE' : ''}`, among.params);
  const facts = new Map(rows.map((r) => [r.id as string, toFacts(r)]));
  const changes: SurveyChange[] = owned.map((f) => {
    const before = facts.get(f.row.surveyId);
    if (!before) throw new Error(`survey ${f.row.surveyId} not found`);
    return { before, after: { ...before, status: f.status } };
  });
  await together(trx, [
    ...owned.map((f) => () =>
      query(trx, 'UPDATE surveys SET status = ?, last_error = ?, updated_at = ?, sent_at = COALESCE(?, sent_at) WHERE id = ?', [
        f.status,
        f.error,
        f.now,
        f.status === 'sent' ? f.now : null,
        f.row.surveyId,
      ]),
    ),
    () => ledger.recordMany(trx, changes),
  ]);
}

export const markSent = (db: Db, ledger: Ledger, row: OutboxRow, now: Date) =>
  db.transaction((trx) => finishSends(trx, ledger, [{ row, status: 'sent', error: null, now }]));

export const markFailed = (db: Db, ledger: Ledger, row: OutboxRow, error: string, now: Date) =>
  db.transaction((trx) => finishSends(trx, ledger, [{ row, status: 'failed', error, now }]));

/** Like finishSends, only while the claim still owns the row: a late retry must not free a row another claim has taken since. */
export async function markRetry(db: Db, row: OutboxRow, dueAt: Date, error: string, now: Date): Promise<void> {
  await db('outbox')
    .where({ id: row.id, status: 'pending', locked_until: row.leaseUntil })
    .update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now });
}
