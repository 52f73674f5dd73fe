import type { Knex } from 'knex';
import { forClaim, isPostgres, type Db } from '../shared/db';
import { SURVEY_FACT_COLUMNS, toFacts, type Ledger, type SurveyChange } from '../surveys/counters/ledger';
import { inList, query, together } from '../shared/statements';

/**
 * A claimed row. `attempts` (counted up by each claim) and `leaseUntil` together are the claim:
 * every transition below changes the row only while it is still pending under both, so a worker
 * whose lease ran out (another one claimed the row since, or a reopen cancelled it) changes nothing.
 */
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

/** How a claimed send ends: `cancelled` when the survey was erased before its email went out. */
export type Finish = { row: OutboxRow; status: 'sent' | 'failed' | 'cancelled'; error: string | null; now: Date };

/** The claim of `row`, as a WHERE clause on outbox and its parameters. */
const HELD = `id = ? AND status = 'pending' AND attempts = ? AND locked_until = ?`;
const held = (row: OutboxRow) => [row.id, row.attempts, row.leaseUntil];

/**
 * Ends claimed sends in the caller's transaction: each outbox row, its survey's status and its
 * counters move together, and only while the claim still owns the row; a reopen may have
 * cancelled it, or another worker claimed it after the lease ran out. Answers, per finish,
 * whether its claim still held (false: nothing of it was written).
 */
export async function finishSends(trx: Knex.Transaction, ledger: Ledger, finishes: readonly Finish[]): Promise<boolean[]> {
  // One outbox row per survey, so every statement below touches rows no other one does: they go together.
  const updated = await together(
    trx,
    finishes.map((f) => () =>
      query(
        trx,
        `UPDATE outbox SET status = ?, locked_until = NULL, last_error = ?, updated_at = ? WHERE ${HELD} RETURNING id`,
        [f.status, f.error, f.now, ...held(f.row)],
      ),
    ),
  );
  const stillHeld = updated.map((rows) => rows.length > 0);
  const owned = finishes.filter((_f, i) => stillHeld[i]);
  if (owned.length === 0) return stillHeld;
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
  return stillHeld;
}

/** One finish in its own transaction; answers whether the claim still held. */
const finishOne = (db: Db, ledger: Ledger, finish: Finish) => db.transaction(async (trx) => (await finishSends(trx, ledger, [finish]))[0]);

export const markSent = (db: Db, ledger: Ledger, row: OutboxRow, now: Date) => finishOne(db, ledger, { row, status: 'sent', error: null, now });

export const markFailed = (db: Db, ledger: Ledger, row: OutboxRow, error: string, now: Date) => finishOne(db, ledger, { row, status: 'failed', error, now });

/** Releases the claim and makes the row due again at `dueAt`; answers false (and changes nothing) if the claim no longer held. */
export async function markRetry(db: Db, row: OutboxRow, dueAt: Date, error: string, now: Date): Promise<boolean> {
  const changed = await db('outbox')
    .whereRaw(HELD, held(row))
    .update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now });
  return changed > 0;
}
