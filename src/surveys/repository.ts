import type { Knex } from 'knex';
import type { Db } from '../shared/db';
import { internalDomain, type EligibilityPolicy, type SuppressionReason } from './eligibility';
import type { Ledger } from '../reports/ledger';
import type { FrozenWording, QuestionChoice } from './questions';
import { isPostgres, toDate } from '../shared/db';
import type { Survey, SurveyStatus, TicketClosed } from './types';

type NewSurvey = {
  id: string;
  ticket: TicketClosed;
  choice: QuestionChoice;
  messageId: string;
  now: Date;
  sendAfter: Date;
  /** The request that scheduled it, for the worker's logs. */
  requestId?: string;
};

/**
 * Decides whether the ticket gets a survey and writes the survey, its report counters and
 * (unless suppressed) its outbox row, all in one transaction: the decision sees the history
 * it is based on (opt-outs, earlier surveys) as of the write. Returns the suppression reason.
 */
export async function insertSurvey(
  db: Db,
  ledger: Ledger,
  s: NewSurvey,
  decide: (trx: Knex.Transaction) => Promise<SuppressionReason | null>,
): Promise<SuppressionReason | null> {
  const t = s.ticket;
  return db.transaction(async (trx) => {
    const reason = await decide(trx);
    const status: SurveyStatus = reason ? 'suppressed' : 'scheduled';
    await trx('surveys').insert({
      id: s.id,
      source: t.source,
      ticket_id: t.ticketId,
      customer_email: t.customer.email,
      customer_name: t.customer.name ?? null,
      agent_id: t.agent?.id ?? null,
      agent_name: t.agent?.name ?? null,
      agent_email: t.agent?.email ?? null,
      team: t.team ?? null,
      subject: t.subject ?? null,
      tags: JSON.stringify(t.tags),
      locale: t.locale ?? null,
      brand: t.brand ?? null,
      thread_message_id: t.threadMessageId ?? null,
      closed_at: t.closedAt,
      question_id: s.choice.questionId,
      variant: s.choice.variant,
      wording: JSON.stringify(s.choice.wording),
      status,
      suppression_reason: reason,
      message_id: s.messageId,
      created_at: s.now,
      updated_at: s.now,
    });
    await ledger.record(trx, null, {
      closedAt: t.closedAt,
      agentId: t.agent?.id ?? null,
      agentName: t.agent?.name ?? null,
      team: t.team ?? null,
      brand: t.brand ?? null,
      questionId: s.choice.questionId,
      variant: s.choice.variant,
      status,
      suppressionReason: reason,
      score: null,
      comment: null,
    });
    if (!reason) {
      await trx('outbox').insert({
        survey_id: s.id,
        status: 'pending',
        due_at: s.sendAfter,
        request_id: s.requestId ?? null,
        attempts: 0,
        created_at: s.now,
        updated_at: s.now,
      });
    }
    return reason;
  });
}

/**
 * Cancels a survey whose email is still waiting in the outbox and not leased by a worker that
 * may be sending it right now. Survey, outbox row and counters change in one transaction.
 */
export async function cancelUnsent(db: Db, ledger: Ledger, source: string, ticketId: string, now: Date) {
  return db.transaction(async (trx) => {
    const survey = await trx('surveys').where({ source, ticket_id: ticketId }).andWhereNot('status', 'cancelled').first('id', 'status');
    if (!survey) return { status: 'ignored' as const, reason: 'unknown_ticket' as const };
    if (survey.status === 'sent') return { status: 'already_sent' as const, surveyId: survey.id as string };
    const cancelled = await trx('outbox')
      .where({ survey_id: survey.id, status: 'pending' })
      .andWhere((q) => q.whereNull('locked_until').orWhere('locked_until', '<=', now))
      .update({ status: 'cancelled', locked_until: null, updated_at: now });
    if (cancelled === 0) {
      return { status: survey.status === 'scheduled' ? ('sending' as const) : ('not_scheduled' as const), surveyId: survey.id as string };
    }
    const before = await ledger.read(trx, survey.id);
    await trx('surveys').where({ id: survey.id }).update({ status: 'cancelled', updated_at: now });
    await ledger.record(trx, before, { ...before, status: 'cancelled' });
    return { status: 'cancelled' as const, surveyId: survey.id as string };
  });
}

/** The reasons stored history gives not to survey this customer now, in order. */
export async function historySuppression(trx: Knex.Transaction, email: string, now: Date, policy: EligibilityPolicy): Promise<SuppressionReason | null> {
  // Two instances deciding for the same customer at once take turns (PostgreSQL; SQLite has one writer),
  // so the throttle sees the other's survey. The lock ends with the transaction.
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`customer:${email}`]);
  if (await trx('surveys').whereRaw('lower(agent_email) = ?', [email]).first('id')) return 'customer_is_agent';
  const internal = internalDomain(email, policy);
  if (internal) return internal;
  if (await trx('opt_outs').where({ email }).first('email')) return 'opted_out';
  const { throttleDays } = policy;
  if (throttleDays > 0) {
    const recent = await trx('surveys')
      .whereRaw('lower(customer_email) = ?', [email])
      .whereIn('status', ['scheduled', 'sent'])
      .andWhere('created_at', '>=', new Date(now.getTime() - throttleDays * 86_400_000))
      .first('id');
    if (recent) return 'throttled';
  }
  return null;
}

/** The ticket's live survey; surveys cancelled by a reopen are history and not returned. */
export async function findSurveyByTicket(db: Db, source: string, ticketId: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ source, ticket_id: ticketId }).andWhereNot('status', 'cancelled').first();
  return row && toSurvey(row);
}

export async function findSurvey(db: Db, id: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ id }).first();
  return row && toSurvey(row);
}

export async function insertToken(db: Db, surveyId: string, tokenHash: string, now: Date, expiresAt: Date) {
  await db('survey_tokens').insert({ token_hash: tokenHash, survey_id: surveyId, created_at: now, expires_at: expiresAt });
}

export async function insertUnsubscribeToken(db: Db, tokenHash: string, email: string, now: Date) {
  await db('unsubscribe_tokens').insert({ token_hash: tokenHash, email, created_at: now });
}

export async function findByTokenHash(db: Db, tokenHash: string): Promise<{ survey: Survey; expiresAt: Date } | undefined> {
  const row = await db('survey_tokens as t')
    .join('surveys as s', 's.id', 't.survey_id')
    .where('t.token_hash', tokenHash)
    .select('s.*', 't.expires_at as token_expires_at')
    .first();
  return row && { survey: toSurvey(row), expiresAt: toDate(row.token_expires_at) };
}

type SurveyRow = Record<string, unknown>;

export function toSurvey(r: SurveyRow): Survey {
  return {
    id: r.id as string,
    source: r.source as string,
    ticketId: r.ticket_id as string,
    customerEmail: r.customer_email as string,
    customerName: (r.customer_name as string) ?? null,
    agentId: (r.agent_id as string) ?? null,
    agentName: (r.agent_name as string) ?? null,
    agentEmail: (r.agent_email as string) ?? null,
    team: (r.team as string) ?? null,
    subject: (r.subject as string) ?? null,
    tags: JSON.parse((r.tags as string) || '[]'),
    locale: (r.locale as string) ?? null,
    brand: (r.brand as string) ?? null,
    threadMessageId: (r.thread_message_id as string) ?? null,
    closedAt: toDate(r.closed_at),
    questionId: r.question_id as string,
    variant: (r.variant as string) ?? null,
    wording: JSON.parse(r.wording as string) as FrozenWording,
    status: r.status as SurveyStatus,
    suppressionReason: (r.suppression_reason as string) ?? null,
    messageId: r.message_id as string,
    sentAt: toDate(r.sent_at, 'nullable'),
    lastError: (r.last_error as string) ?? null,
    score: (r.score as number) ?? null,
    comment: (r.comment as string) ?? null,
    firstRatedAt: toDate(r.first_rated_at, 'nullable'),
    ratedAt: toDate(r.rated_at, 'nullable'),
    createdAt: toDate(r.created_at),
  };
}
