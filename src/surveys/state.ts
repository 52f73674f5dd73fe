import type { Knex } from 'knex';
import { isPostgres } from '../shared/db';
import { inList, insertRows, query, together } from '../shared/statements';
import { HELD, held, type Claim } from '../shared/outbox-poller';
import { SURVEY_FACT_COLUMNS, toFacts, type Ledger, type SurveyChange, type SurveyFacts } from './counters/ledger';
import { agentAddressesOf, type SuppressionReason } from './eligibility';
import type { QuestionChoice } from './questions';
import type { SurveyStatus, TicketClosed } from './types';

/*
 * The one owner of survey state. Every change of a survey's status, score, comment or identity is
 * written here, and the report counters (counters/ledger.ts) move with it in the caller's
 * transaction: creation, the end of a send, a cancellation (reopen, erasure), a rating, an erasure.
 * No other module writes `surveys` or the counter tables (test/surveys/state.test.ts reads
 * the source to keep it so). Outbox rows are created, cancelled and ended here with their survey;
 * delivery only leases them (delivery/repository.ts).
 */

/** What stands in for erased identities and comments. A comment stays non-empty so report counts stay exact. */
export const ERASED_EMAIL = 'erased@erased.invalid';
export const ERASED_COMMENT = '[erased]';

export type NewSurvey = {
  id: string;
  ticket: TicketClosed;
  choice: QuestionChoice;
  messageId: string;
  now: Date;
  sendAfter: Date;
  /** The request that scheduled it, for the worker's logs. */
  requestId?: string;
  /** Why it gets no email, or null: it is scheduled. */
  reason: SuppressionReason | null;
};

/**
 * Writes the surveys, their report counters and (unless suppressed) their outbox rows inside the
 * caller's transaction: one multi-row statement per table, whatever the number of surveys. Their
 * agents' addresses not among `knownAgents` (agent_emails as the caller read it) are added there.
 */
export async function insertSurveys(trx: Knex.Transaction, ledger: Ledger, surveys: readonly NewSurvey[], knownAgents: ReadonlySet<string>): Promise<void> {
  if (surveys.length === 0) return;
  const statusOf = (s: Pick<NewSurvey, 'reason'>): SurveyStatus => (s.reason ? 'suppressed' : 'scheduled');
  // The surveys first (the outbox rows refer to them); then the counters, the outbox and new agent addresses together.
  await insertRows(
    trx,
    'surveys',
    SURVEY_COLUMNS,
    surveys.map(({ ticket: t, ...s }) => [
      s.id,
      t.source,
      t.ticketId,
      t.customer.email,
      t.customer.name ?? null,
      t.agent?.id ?? null,
      t.agent?.name ?? null,
      t.agent?.email ?? null,
      t.agent ? (t.creditedBy ?? null) : null,
      t.team ?? null,
      t.subject ?? null,
      JSON.stringify(t.tags),
      t.locale ?? null,
      t.brand ?? null,
      t.threadMessageId ?? null,
      t.closedAt,
      s.choice.questionId,
      s.choice.variant,
      JSON.stringify(s.choice.wording),
      statusOf(s),
      s.reason,
      s.messageId,
      s.now,
      s.now,
    ]),
  );
  const counted = () => ledger.recordMany(
    trx,
    surveys.map(({ ticket: t, ...s }) => ({
      before: null,
      after: {
        closedAt: t.closedAt,
        agentId: t.agent?.id ?? null,
        agentName: t.agent?.name ?? null,
        team: t.team ?? null,
        brand: t.brand ?? null,
        questionId: s.choice.questionId,
        variant: s.choice.variant,
        status: statusOf(s),
        suppressionReason: s.reason,
        score: null,
        comment: null,
      },
    })),
  );
  const scheduled = surveys.filter((s) => !s.reason);
  const queued = () => insertRows(
    trx,
    'outbox',
    ['survey_id', 'status', 'due_at', 'request_id', 'attempts', 'created_at', 'updated_at'],
    scheduled.map((s) => [s.id, 'pending', s.sendAfter, s.requestId ?? null, 0, s.now, s.now]),
  );
  const newAgents = agentAddressesOf(surveys.map((s) => s.ticket)).filter((e) => !knownAgents.has(e));
  // Sorted: two instances adding the same addresses at once wait on each other in one order, never in a cycle.
  const agents = () => insertRows(trx, 'agent_emails', ['email'], newAgents.sort().map((e) => [e]), 'ON CONFLICT ("email") DO NOTHING');
  await together(trx, [counted, queued, agents]);
}

const SURVEY_COLUMNS = [
  'id', 'source', 'ticket_id', 'customer_email', 'customer_name', 'agent_id', 'agent_name', 'agent_email', 'credited_by', 'team', 'subject', 'tags', 'locale',
  'brand', 'thread_message_id', 'closed_at', 'question_id', 'variant', 'wording', 'status', 'suppression_reason', 'message_id', 'created_at', 'updated_at',
];

/** Surveys cancelled per statement; more go in further rounds. */
const CANCEL_CHUNK = 64;

/**
 * The one rule for cancelling surveys whose email has not gone out (a reopen, an erasure), in the
 * caller's transaction: a survey is cancelled only while its outbox row is pending and no worker
 * holds it under a live lease (that worker may be sending it right now, and its claim decides how
 * it ends). Outbox row, survey status and report counters change together. Answers the ids cancelled.
 */
export async function cancelUnsentSurveys(trx: Knex.Transaction, ledger: Ledger, surveyIds: readonly string[], now: Date): Promise<string[]> {
  const cancelled: string[] = [];
  for (let at = 0; at < surveyIds.length; at += CANCEL_CHUNK) {
    const among = inList(surveyIds.slice(at, at + CANCEL_CHUNK));
    const rows = await query<{ survey_id: string }>(
      trx,
      `UPDATE outbox SET status = 'cancelled', locked_until = NULL, updated_at = ?
       WHERE survey_id IN ${among.sql} AND status = 'pending' AND (locked_until IS NULL OR locked_until <= ?) RETURNING survey_id`,
      [now, ...among.params, now],
    );
    cancelled.push(...rows.map((r) => r.survey_id));
  }
  if (cancelled.length === 0) return cancelled;
  const changes: SurveyChange[] = [];
  for (const id of cancelled) {
    const before = await ledger.read(trx, id);
    changes.push({ before, after: { ...before, status: 'cancelled' } });
  }
  await trx('surveys').whereIn('id', cancelled).update({ status: 'cancelled', updated_at: now });
  await ledger.recordMany(trx, changes);
  return cancelled;
}

/** A worker's claim on an email's outbox row (shared/outbox-poller.ts `Claim`), with what its logs name. */
export type OutboxClaim = Claim & { surveyId: string; requestId?: string | null };

/** How a claimed send ends: `cancelled` when the survey was erased before its email went out. */
export type Finish = { row: OutboxClaim; status: 'sent' | 'failed' | 'cancelled'; error: string | null; now: Date };

/**
 * Ends claimed sends in the caller's transaction: each outbox row, its survey's status and its
 * counters move together, and only while the claim still owns the row; a reopen may have
 * cancelled it, or another worker claimed it after the lease ran out. Answers, per finish,
 * whether its claim still held (false: nothing of it was written).
 */
export async function finishSends(trx: Knex.Transaction, ledger: Ledger, finishes: readonly Finish[], reminderAfterMs = 0): Promise<boolean[]> {
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
  // REMINDER_AFTER_HOURS: a sent survey's one reminder is queued with the send (reminders/ decides at its time whether it still goes).
  const sent = owned.filter((f) => f.status === 'sent');
  if (reminderAfterMs > 0 && sent.length) {
    const rows = sent.map((f) => [f.row.surveyId, 'pending', new Date(f.now.getTime() + reminderAfterMs), 0, f.now, f.now]);
    await insertRows(trx, 'reminders', ['survey_id', 'status', 'due_at', 'attempts', 'created_at', 'updated_at'], rows, ' ON CONFLICT (survey_id) DO NOTHING');
  }
  return stillHeld;
}

/** Why a reminder did not go out. */
export const REMINDER_SKIPS = ['rated', 'unsubscribed', 'erased', 'reopened', 'expired', 'not_sent'] as const;
export type ReminderSkip = (typeof REMINDER_SKIPS)[number];

/** Cancels the pending reminders of these surveys (a reopened ticket), unless a worker holds one under a live lease. */
export async function cancelReminders(trx: Knex.Transaction, surveyIds: readonly string[], reason: ReminderSkip, now: Date): Promise<number> {
  if (surveyIds.length === 0) return 0;
  return trx('reminders')
    .whereIn('survey_id', surveyIds)
    .andWhere('status', 'pending')
    .andWhere((w) => w.whereNull('locked_until').orWhere('locked_until', '<=', now))
    .update({ status: 'cancelled', reason, updated_at: now });
}

/** A worker's claim on a reminder (reminders/repository.ts). */
export type ReminderClaim = Claim & { surveyId: string };

/**
 * Ends a claimed reminder while its claim holds, in one transaction: sent (and the survey's
 * reminded_at, which tells reminder responses from first-email ones in the reports), cancelled
 * with the reason it no longer applies, or failed. Answers whether the claim still held.
 */
export async function finishReminder(trx: Knex.Transaction, claim: ReminderClaim, end: { status: 'sent' } | { status: 'cancelled'; reason: ReminderSkip } | { status: 'failed'; error: string }, now: Date): Promise<boolean> {
  const changed = await trx('reminders')
    .whereRaw(HELD, held(claim))
    .update({ status: end.status, reason: 'reason' in end ? end.reason : null, last_error: 'error' in end ? end.error : null, locked_until: null, updated_at: now });
  if (changed === 0) return false;
  if (end.status === 'sent') await trx('surveys').where({ id: claim.surveyId }).update({ reminded_at: now });
  return true;
}

/** A survey's new current rating, decided by ratings/ from `before` (its facts as read, its row locked). */
export type RatingChange = { surveyId: string; before: SurveyFacts; score: number | null; comment: string | null; firstRatedAt: unknown; ratedAt: Date };

/** Writes each survey's new current rating and its counters, in the caller's transaction (one change per survey). */
export async function applyRatings(trx: Knex.Transaction, ledger: Ledger, ratings: readonly RatingChange[]): Promise<void> {
  if (ratings.length === 0) return;
  await together(trx, [
    ...ratings.map((r) => () =>
      query(trx, 'UPDATE surveys SET score = ?, comment = ?, first_rated_at = ?, rated_at = ?, updated_at = ? WHERE id = ?', [
        r.score,
        r.comment,
        r.firstRatedAt,
        r.ratedAt,
        r.ratedAt,
        r.surveyId,
      ]),
    ),
    () => ledger.recordMany(trx, ratings.map((r) => ({ before: r.before, after: { ...r.before, score: r.score, comment: r.comment } }))),
  ]);
}

/**
 * Blanks the identity (customer email and name, subject, thread, last error) and the comment text
 * of the chosen surveys. A comment becomes ERASED_COMMENT, never empty, so no counter moves; scores,
 * agents and dates stay for the reports. Answers how many surveys and comments were erased.
 */
export async function eraseSurveyText(trx: Knex.Transaction, ids: Knex.QueryBuilder): Promise<{ surveys: number; comments: number }> {
  const comments = await trx('surveys').whereIn('id', ids.clone()).whereNotNull('comment').update({ comment: ERASED_COMMENT });
  const surveys = await trx('surveys')
    .whereIn('id', ids.clone())
    .update({ customer_email: ERASED_EMAIL, customer_name: null, subject: null, thread_message_id: null, last_error: null });
  return { surveys, comments };
}
