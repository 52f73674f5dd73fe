import type { Knex } from 'knex';
import type { Db } from '../shared/db';
import type { CustomerHistory } from './eligibility';
import type { Ledger } from './counters/ledger';
import { cancelReminders, cancelUnsentSurveys, ERASED_EMAIL, type ReminderSkip } from './state';
import type { FrozenWording } from './questions';
import { isPostgres, toDate } from '../shared/db';
import { inList, insertRows, query, together } from '../shared/statements';
import type { Survey, SurveyStatus, TicketClosed } from './types';
import type { CreditedBy } from './credit';
import type { AddressHash } from '../shared/address-hash';

/**
 * Cancels a reopened ticket's survey if its email is still waiting (cancelUnsentSurveys), in the
 * caller's transaction; answers `sending` when a worker holds it under a live lease.
 */
export async function cancelUnsent(trx: Knex.Transaction, ledger: Ledger, source: string, ticketId: string, now: Date) {
  const survey = await trx('surveys').where({ source, ticket_id: ticketId }).andWhereNot('status', 'cancelled').first('id', 'status');
  if (!survey) return { status: 'ignored' as const, reason: 'unknown_ticket' as const };
  if (survey.status === 'sent') {
    // Its email went out; a reopened ticket gets no reminder about it.
    await cancelReminders(trx, [survey.id], 'reopened', now);
    return { status: 'already_sent' as const, surveyId: survey.id as string };
  }
  const cancelled = await cancelUnsentSurveys(trx, ledger, [survey.id], now);
  if (cancelled.length === 0) {
    return { status: survey.status === 'scheduled' ? ('sending' as const) : ('not_scheduled' as const), surveyId: survey.id as string };
  }
  return { status: 'cancelled' as const, surveyId: survey.id as string };
}

/**
 * What stored history says about these customers (normalised emails), read in the caller's
 * transaction: which of them are one of our agents, which opted out (opt_outs holds their keyed
 * hashes, `addressHash`), and when each was last surveyed (scheduled or sent) since `since`.
 * `agents` also holds those of `agentEmails` (the batch's agents, lowercased) that are known already.
 */
export async function readCustomerHistory(
  trx: Knex.Transaction,
  emails: readonly string[],
  since: Date,
  throttled: boolean,
  addressHash: AddressHash,
  agentEmails: readonly string[],
): Promise<CustomerHistory> {
  const history: CustomerHistory = { agents: new Set(), optedOut: new Set(), lastSurveyed: new Map() };
  if (emails.length === 0) return history;
  // Two instances deciding for the same customer at once take turns (PostgreSQL; SQLite has one writer),
  // so the throttle sees the other's survey. The locks end with the transaction; taken in one order, they cannot deadlock.
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(?::text[]) AS k', [[...emails].sort().map((e) => `customer:${e}`)]);
  const among = inList(emails);
  // Known agents among the customers (customer_is_agent) and among the batch's own agents (so that only new ones are written).
  const anyAgent = inList([...new Set([...emails, ...agentEmails])]);
  const byHash = new Map(emails.map((email) => [addressHash(email), email]));
  const hashes = inList([...byHash.keys()]);
  // One statement for the three questions (each a trip through the thread pool on SQLite, a round trip on PostgreSQL);
  // `at` is typed in every part, as PostgreSQL must match the parts' types (SQLite reads the CAST as NULL).
  const parts = [
    { sql: `SELECT 'agent' AS kind, email, CAST(NULL AS TIMESTAMP) AS at FROM agent_emails WHERE email IN ${anyAgent.sql}`, params: anyAgent.params },
    { sql: `SELECT 'opted_out' AS kind, email_hash AS email, CAST(NULL AS TIMESTAMP) AS at FROM opt_outs WHERE email_hash IN ${hashes.sql}`, params: hashes.params },
    ...(throttled
      ? [
          {
            sql: `SELECT 'recent' AS kind, lower(customer_email) AS email, MAX(created_at) AS at FROM surveys
             WHERE lower(customer_email) IN ${among.sql} AND status IN ('scheduled', 'sent') AND created_at >= ? GROUP BY lower(customer_email)`,
            params: [...among.params, since],
          },
        ]
      : []),
  ];
  const rows = await query<{ kind: 'agent' | 'opted_out' | 'recent'; email: string; at: unknown }>(
    trx,
    parts.map((p) => p.sql).join(' UNION ALL '),
    parts.flatMap((p) => p.params),
  );
  for (const row of rows) {
    if (row.kind === 'agent') history.agents.add(row.email);
    else if (row.kind === 'opted_out') history.optedOut.add(byHash.get(row.email) as string);
    else history.lastSurveyed.set(row.email, toDate(row.at).getTime());
  }
  return history;
}

/** The live surveys (not cancelled by a reopen) of these tickets, by `ticketKey`. */
export async function liveSurveysOf(trx: Knex.Transaction, tickets: readonly Pick<TicketClosed, 'source' | 'ticketId'>[]): Promise<Map<string, string>> {
  const sources = inList([...new Set(tickets.map((t) => t.source))]);
  const ids = inList([...new Set(tickets.map((t) => t.ticketId))]);
  const rows = await query<{ id: string; source: string; ticket_id: string }>(
    trx,
    `SELECT id, source, ticket_id FROM surveys WHERE source IN ${sources.sql} AND ticket_id IN ${ids.sql} AND status <> 'cancelled'`,
    [...sources.params, ...ids.params],
  );
  return new Map(rows.map((r) => [ticketKey({ source: r.source, ticketId: r.ticket_id }), r.id]));
}

export const ticketKey = (t: Pick<TicketClosed, 'source' | 'ticketId'>) => `${t.source}\u0000${t.ticketId}`;

/** The live survey of one ticket; surveys cancelled by a reopen are history and not returned. */
export async function findSurveyByTicket(db: Db, source: string, ticketId: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ source, ticket_id: ticketId }).andWhereNot('status', 'cancelled').first();
  return row && toSurvey(row);
}

export async function findSurvey(db: Db, id: string): Promise<Survey | undefined> {
  const row = await db('surveys').where({ id }).first();
  return row && toSurvey(row);
}

/** Surveys by id, read in the caller's transaction. */
export async function surveysById(trx: Knex.Transaction, ids: readonly string[]): Promise<Map<string, Survey>> {
  const among = inList(ids);
  const rows = await query(trx, `SELECT * FROM surveys WHERE id IN ${among.sql}`, among.params);
  return new Map(rows.map((r) => [r.id as string, toSurvey(r)]));
}

/** Which of these address hashes opted out. */
export async function optedOutAmong(trx: Knex.Transaction, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const among = inList([...new Set(hashes)]);
  const rows = await query<{ email_hash: string }>(trx, `SELECT email_hash FROM opt_outs WHERE email_hash IN ${among.sql}`, among.params);
  return new Set(rows.map((r) => r.email_hash));
}

/** Rating tokens [hash, survey id, created, expires] and unsubscribe tokens [hash, address hash, survey id, created]. */
export async function insertTokens(trx: Knex.Transaction, rating: unknown[][], unsubscribe: unknown[][]): Promise<void> {
  await together(trx, [
    () => insertRows(trx, 'survey_tokens', ['token_hash', 'survey_id', 'created_at', 'expires_at'], rating),
    () => insertRows(trx, 'unsubscribe_tokens', ['token_hash', 'email_hash', 'survey_id', 'created_at'], unsubscribe),
  ]);
}

export async function insertToken(db: Db, surveyId: string, tokenHash: string, now: Date, expiresAt: Date) {
  await db('survey_tokens').insert({ token_hash: tokenHash, survey_id: surveyId, created_at: now, expires_at: expiresAt });
}

export async function insertUnsubscribeToken(db: Db, tokenHash: string, emailHash: string, surveyId: string | null, now: Date) {
  await db('unsubscribe_tokens').insert({ token_hash: tokenHash, email_hash: emailHash, survey_id: surveyId, created_at: now });
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
    creditedBy: (r.credited_by as CreditedBy) ?? null,
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

export type SurveyFilter = { ticketId?: string; status?: string; agentId?: string; from?: Date; to?: Date };
export type Cursor = { closedAt: number; id: string };

const iso = (v: unknown) => (v === null || v === undefined ? null : toDate(v).toISOString());

/** One survey as the API shows it. */
export function surveyItem(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    source: r.source as string,
    ticket_id: r.ticket_id as string,
    status: r.status as string,
    suppression_reason: (r.suppression_reason as string) ?? null,
    customer_email: r.customer_email as string,
    agent: r.agent_id ? { id: r.agent_id as string, name: (r.agent_name as string) ?? null } : null,
    /** How the agent was chosen (README "Agent credit"): last_reply, closer, assignee or payload; null without an agent. */
    credited_by: (r.credited_by as string) ?? null,
    team: (r.team as string) ?? null,
    brand: (r.brand as string) ?? null,
    question_id: r.question_id as string,
    variant: (r.variant as string) ?? null,
    closed_at: iso(r.closed_at),
    sent_at: iso(r.sent_at),
    score: (r.score as number) ?? null,
    comment: (r.comment as string) ?? null,
    rated_at: iso(r.rated_at),
  };
}

/** Newest closed first; keyset-paginated on (closed_at, id) so pages stay stable while rows arrive. */
export async function listSurveys(db: Db, f: SurveyFilter, limit: number, after?: Cursor) {
  const q = db('surveys');
  if (f.ticketId) q.where('ticket_id', f.ticketId);
  if (f.status) q.where('status', f.status);
  if (f.agentId) q.where('agent_id', f.agentId);
  if (f.from) q.where('closed_at', '>=', f.from);
  if (f.to) q.where('closed_at', '<', f.to);
  if (after) {
    const at = new Date(after.closedAt);
    q.andWhere((w) => w.where('closed_at', '<', at).orWhere((x) => x.where('closed_at', '=', at).andWhere('id', '<', after.id)));
  }
  const rows = await q.orderBy([{ column: 'closed_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1).select('*');
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(surveyItem),
    next: rows.length > limit && last ? ({ closedAt: toDate(last.closed_at).getTime(), id: last.id }) : null,
  };
}

/** One survey as the operators' API shows it, with its delivery. */
export async function surveyWithDelivery(db: Db, id: string) {
  const row = await db('surveys').where({ id }).first();
  if (!row) return undefined;
  const outbox = await db('outbox').where({ survey_id: id }).first('status', 'attempts', 'due_at', 'last_error');
  return {
    ...surveyItem(row),
    last_error: row.last_error ?? null,
    delivery: outbox ? { status: outbox.status, attempts: outbox.attempts, due_at: iso(outbox.due_at), last_error: outbox.last_error ?? null } : null,
  };
}

/** Whether a sent survey's reminder still applies, read at its time (reminders/): why not, or the survey and its links' expiry. */
export type ReminderCheck = { skip: ReminderSkip } | { wait: true } | { survey: Survey; expiresAt: Date };

/**
 * A reminder goes only to a survey that was sent, has no counted rating (and none waiting in the
 * scanner hold: then it waits), whose customer neither opted out nor was erased, and whose first
 * link has not expired; its ticket's reopen cancelled it already (cancelUnsent above).
 */
export async function checkReminder(db: Db, surveyId: string, now: Date, addressHash: AddressHash): Promise<ReminderCheck> {
  const row = await db('surveys').where({ id: surveyId }).first();
  if (!row || row.status !== 'sent') return { skip: 'not_sent' };
  if (row.score !== null || row.first_rated_at !== null) return { skip: 'rated' };
  if (row.customer_email === ERASED_EMAIL) return { skip: 'erased' };
  const [optedOut, token, waiting] = await Promise.all([
    db('opt_outs').where({ email_hash: addressHash(String(row.customer_email).toLowerCase()) }).first('email_hash'),
    db('survey_tokens').where({ survey_id: surveyId }).min({ expires: 'expires_at' }).first(),
    db('rating_attempts').where({ survey_id: surveyId, status: 'pending' }).first('id'),
  ]);
  if (optedOut) return { skip: 'unsubscribed' };
  if (!token?.expires || toDate(token.expires) <= now) return { skip: 'expired' };
  if (waiting) return { wait: true };
  return { survey: toSurvey(row), expiresAt: toDate(token.expires) };
}
