import type { Db } from '../shared/db';
import type { Ledger } from '../reports/ledger';
import type { FrozenWording, QuestionChoice } from './questions';
import { toDate } from '../shared/db';
import type { Survey, SurveyStatus, TicketClosed } from './types';

type NewSurvey = {
  id: string;
  ticket: TicketClosed;
  choice: QuestionChoice;
  status: SurveyStatus;
  suppressionReason: string | null;
  messageId: string;
  now: Date;
  sendAfter: Date | null;
};

/** Writes the survey, its report counters and (unless suppressed) its outbox row in one transaction: all or nothing. */
export async function insertSurvey(db: Db, ledger: Ledger, s: NewSurvey): Promise<void> {
  const t = s.ticket;
  await db.transaction(async (trx) => {
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
      status: s.status,
      suppression_reason: s.suppressionReason,
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
      status: s.status,
      score: null,
      comment: null,
    });
    if (s.sendAfter) {
      await trx('outbox').insert({
        survey_id: s.id,
        status: 'pending',
        due_at: s.sendAfter,
        attempts: 0,
        created_at: s.now,
        updated_at: s.now,
      });
    }
  });
}

export async function findSurveyByTicket(db: Db, source: string, ticketId: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ source, ticket_id: ticketId }).first();
  return row && toSurvey(row);
}

export async function findSurvey(db: Db, id: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ id }).first();
  return row && toSurvey(row);
}

export async function insertToken(db: Db, surveyId: string, tokenHash: string, now: Date, expiresAt: Date) {
  await db('survey_tokens').insert({ token_hash: tokenHash, survey_id: surveyId, created_at: now, expires_at: expiresAt });
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
