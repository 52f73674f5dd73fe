import type { Knex } from 'knex';
import type { Db } from '../shared/db';
import { toDate } from '../shared/db';
import { inList, query } from '../shared/statements';
import type { LinkOpen } from './rules';

/**
 * rating_attempts: every rating POST and what became of it. A page that posted by itself leaves a
 * `pending` attempt that the scanner rules decide later; a customer's own submit is written with
 * the rating it made, in the same transaction (repository.recordRatings).
 */
export type AttemptStatus = 'pending' | 'counted' | 'discarded' | 'ignored' | 'superseded';
export type AttemptSource = 'page' | 'form';
export type PageSignals = { visibleMs: number | null; interacted: boolean | null };

export const ATTEMPT_COLUMNS = ['survey_id', 'token_hash', 'source', 'score', 'status', 'reason', 'visible_ms', 'interacted', 'created_at', 'decide_after', 'decided_at'];

type PageAttempt = { surveyId: string; tokenHash: string; score: number; signals: PageSignals; now: Date };

const pageRow = (a: PageAttempt) => ({
  survey_id: a.surveyId,
  token_hash: a.tokenHash,
  source: 'page',
  score: a.score,
  visible_ms: a.signals.visibleMs,
  interacted: a.signals.interacted,
  created_at: a.now,
});

/** A rating the page posted by itself: it waits until `decideAfter` for the scanner rules. */
export async function insertPending(db: Db, a: PageAttempt & { decideAfter: Date }) {
  await db('rating_attempts').insert({ ...pageRow(a), status: 'pending', decide_after: a.decideAfter });
}

/** A page's post that changes nothing (the survey's rating already counts): kept so a re-scan shows up. */
export async function insertIgnored(db: Db, a: PageAttempt & { reason: string }) {
  await db('rating_attempts').insert({ ...pageRow(a), status: 'ignored', reason: a.reason, decided_at: a.now });
}

export type PendingAttempt = { id: number; surveyId: string; tokenHash: string; score: number; createdAt: Date };

/** Pending attempts whose hold is over, oldest first. */
export async function duePending(db: Db, now: Date, limit: number): Promise<PendingAttempt[]> {
  const rows = await db('rating_attempts').where({ status: 'pending' }).andWhere('decide_after', '<=', now).orderBy('id').limit(limit).select('id', 'survey_id', 'token_hash', 'score', 'created_at');
  return rows.map((r) => ({ id: r.id, surveyId: r.survey_id, tokenHash: r.token_hash, score: r.score, createdAt: toDate(r.created_at) }));
}

/** The newest pending attempt of each of these surveys (what a page shows while a rating waits). */
export async function latestPending(db: Db, surveyId: string): Promise<{ id: number; score: number } | undefined> {
  return db('rating_attempts').where({ survey_id: surveyId, status: 'pending' }).orderBy('id', 'desc').first('id', 'score');
}

/** Whether a later pending attempt of the same survey exists: then the earlier one is superseded by it. */
export async function hasLaterPending(db: Db, a: PendingAttempt): Promise<boolean> {
  const row = await db('rating_attempts').where({ survey_id: a.surveyId, status: 'pending' }).andWhere('id', '>', a.id).first('id');
  return row !== undefined;
}

/** Link opens and decoy hits of one survey between two instants: what the scanner rules read. */
export async function opensBetween(db: Db, surveyId: string, from: Date, to: Date): Promise<LinkOpen[]> {
  const rows = await db('link_events').where({ survey_id: surveyId }).andWhere('created_at', '>=', from).andWhere('created_at', '<=', to).select('kind', 'score', 'created_at');
  return rows.map((r) => ({ kind: r.kind, score: r.score === null ? null : Number(r.score), at: toDate(r.created_at) }));
}

/** Settles a pending attempt, unless something else settled it first; true when this call did. */
export async function settle(db: Db, id: number, status: Exclude<AttemptStatus, 'pending'>, reason: string, now: Date): Promise<boolean> {
  const n = await db('rating_attempts').where({ id, status: 'pending' }).update({ status, reason, decided_at: now });
  return Number(n) > 0;
}

/** Of these attempt ids, the ones still pending (read inside a rating's transaction). */
export async function stillPending(trx: Knex.Transaction, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const list = inList([...ids]);
  const rows = await query<{ id: number }>(trx, `SELECT id FROM rating_attempts WHERE status = 'pending' AND id IN ${list.sql}`, list.params);
  return new Set(rows.map((r) => Number(r.id)));
}

/** A customer's own rating settles every attempt of that survey still waiting: their act decides. */
export async function supersedePending(trx: Knex.Transaction, surveyIds: readonly string[], except: readonly number[], now: Date) {
  if (surveyIds.length === 0) return;
  const surveys = inList([...surveyIds]);
  const kept = inList(except.length ? [...except] : [0]);
  await query(
    trx,
    `UPDATE rating_attempts SET status = 'superseded', reason = 'customer_action', decided_at = ? WHERE status = 'pending' AND survey_id IN ${surveys.sql} AND id NOT IN ${kept.sql}`,
    [now, ...surveys.params, ...kept.params],
  );
}

/** Every attempt of one survey, oldest first, for the admin API. */
export async function attemptsOf(db: Db, surveyId: string) {
  return db('rating_attempts').where({ survey_id: surveyId }).orderBy('id').select('source', 'score', 'status', 'reason', 'visible_ms', 'interacted', 'created_at', 'decided_at');
}
