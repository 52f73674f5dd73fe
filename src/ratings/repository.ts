import type { Knex } from 'knex';
import type { Db } from '../shared/db';
import { SURVEY_FACT_COLUMNS, toFacts, type Ledger, type SurveyFacts } from '../surveys/counters/ledger';
import { applyRatings, ERASED_EMAIL, type RatingChange } from '../surveys/state';
import { followRatings, type AlertTarget } from '../followups/state';
import { queueEvents, type QueuedEvent } from '../rating-webhooks/queue';
import { isPostgres, toDate } from '../shared/db';
import type { ItemOutcome } from '../shared/batch';
import { inList, insertRows, query, together } from '../shared/statements';
import { linkRefusal, type LinkEventKind, type RatingDecision, type RatingEventKind, type RatingState } from './rules';
import { ATTEMPT_COLUMNS, attemptsOf, stillPending, supersedePending } from './attempts';
import { AppError } from '../shared/errors';

export type { LinkEventKind, RatingEventKind };

export async function insertLinkEvent(db: Db, surveyId: string, kind: LinkEventKind, score: number | null, now: Date) {
  await db('link_events').insert({ survey_id: surveyId, kind, score, created_at: now });
}

/** Scores other than `score` whose links were opened for this survey since `since`. */
export async function otherScoresViewedSince(db: Db, surveyId: string, score: number, since: Date): Promise<number> {
  const row = await db('link_events')
    .where({ survey_id: surveyId, kind: 'view' })
    .andWhere('created_at', '>=', since)
    .andWhereNot('score', score)
    .count<{ n: number | string }[]>({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** What a rating decides on: the survey's id, current rating and facts (for counters and webhooks), read beside its token. */
const RATED_SURVEY_COLUMNS = ['id', 'first_rated_at', 'ticket_id', 'agent_name', 'subject', ...SURVEY_FACT_COLUMNS].map((c) => `s.${c}`).join(', ');

/**
 * An answer by the hash of its link's token; the survey is looked up with the write, in the same
 * transaction. `form`: the customer's own submit, written as a counted attempt, and it settles the
 * survey's pending ones. `held`: a pending attempt (rating_attempts) that passed the scanner rules;
 * refused with 409 already_decided when something settled it first.
 */
export type RatingRequest = { tokenHash: string; now: Date; decide: (current: RatingState) => RatingDecision; attempt: { kind: 'form' } | { kind: 'held'; id: number } };

/**
 * Finds the surveys of the requests' tokens with their current ratings, lets each request's
 * `decide` choose what changes, and writes the events, the new current ratings, the counters and
 * the rating webhooks, all in the caller's transaction, so concurrent answers never interleave
 * between a read and its write. Requests apply in order, each seeing the ones before it (two
 * answers to one survey in one batch count in turn). A request that is refused writes nothing and
 * gets its error: an unknown token 404, an expired one 410, a locked rating its decision's error.
 */
export async function recordRatings(
  trx: Knex.Transaction,
  ledger: Ledger,
  hookUrls: readonly string[],
  requests: readonly RatingRequest[],
  /** ALERT_MAX_SCORE: a counted rating at or below it opens a follow-up (followups/state.ts). */
  lowAtOrBelow: number,
  /** ALERT_WEBHOOK_URL and PUBLIC_URL: where a new follow-up's alert goes. */
  alert: AlertTarget,
): Promise<ItemOutcome<RatingDecision>[]> {
  const hashes = inList([...new Set(requests.map((r) => r.tokenHash))]);
  const rows = await query<SurveyRow>(
    trx,
    `SELECT t.token_hash, t.expires_at AS token_expires_at, s.customer_email, ${RATED_SURVEY_COLUMNS} FROM survey_tokens t JOIN surveys s ON s.id = t.survey_id
     WHERE t.token_hash IN ${hashes.sql} ORDER BY s.id${isPostgres(trx) ? ' FOR UPDATE OF s' : ''}`,
    hashes.params,
  );
  // An erasure that committed while this waited for a survey's lock deleted its token, but PostgreSQL
  // re-reads only the locked survey row, not the token: an erased survey is an unknown link too.
  const live = rows.filter((r) => r.customer_email !== ERASED_EMAIL);
  const surveyOf = new Map(live.map((r) => [r.token_hash as string, { id: r.id as string, expiresAt: toDate(r.token_expires_at) }]));
  // Read after the surveys' rows are locked: a held attempt settled meanwhile is seen settled.
  const pending = await stillPending(trx, requests.flatMap((r) => (r.attempt.kind === 'held' ? [r.attempt.id] : [])));
  const settledBy = new Set<string>(); // surveys whose rating this batch decided: their other pending attempts are settled
  const attempts: unknown[][] = [];
  const counted: number[] = [];
  const current = new Map(rows.map((r) => [r.id as string, r]));
  const events: unknown[][] = [];
  const hooks: QueuedEvent[] = [];
  const changed = new Map<string, RatingChange>(); // each survey's last rating in this batch, with its facts before the batch
  const outcomes = requests.map(({ tokenHash, now, decide, attempt }): ItemOutcome<RatingDecision> => {
    const found = surveyOf.get(tokenHash);
    const refusal = linkRefusal(found && { expired: found.expiresAt <= now });
    if (refusal || !found) return { ok: false, error: refusal };
    const surveyId = found.id;
    if (attempt.kind === 'held' && (!pending.has(attempt.id) || settledBy.has(surveyId))) return { ok: false, error: new AppError(409, 'already_decided') };
    const row = current.get(surveyId) as SurveyRow;
    let decision: RatingDecision;
    try {
      decision = decide({ score: (row.score as number) ?? null, comment: (row.comment as string) ?? null, firstRatedAt: toDate(row.first_rated_at, 'nullable') });
    } catch (error) {
      return { ok: false, error };
    }
    settledBy.add(surveyId);
    if (attempt.kind === 'form') {
      const [status, reason] = decision.events.length ? ['counted', 'customer_action'] : ['ignored', 'unchanged'];
      attempts.push([surveyId, tokenHash, 'form', decision.next.score, status, reason, null, null, now, null, now]);
    } else counted.push(attempt.id);
    if (decision.events.length === 0) return { ok: true, value: decision };
    const before = toFacts(row);
    const next = { ...row, score: decision.next.score, comment: decision.next.comment, first_rated_at: decision.next.firstRatedAt, rated_at: now };
    current.set(surveyId, next);
    const first = changed.get(surveyId)?.before ?? before;
    changed.set(surveyId, { surveyId, before: first, score: decision.next.score, comment: decision.next.comment, firstRatedAt: decision.next.firstRatedAt, ratedAt: now });
    for (const e of decision.events) events.push([surveyId, e.kind, e.score, e.comment, now]);
    hooks.push({ surveyId, body: ratingEvent(row, before, decision, surveyId, now), at: now });
    return { ok: true, value: decision };
  });
  // Each survey's row is updated once, with its last state: all the writes go together (shared/statements.ts).
  await together(trx, [
    () => insertRows(trx, 'rating_events', ['survey_id', 'kind', 'score', 'comment', 'created_at'], events),
    () => applyRatings(trx, ledger, [...changed.values()]),
    () => queueEvents(trx, hookUrls, hooks),
    () => insertRows(trx, 'rating_attempts', ATTEMPT_COLUMNS, attempts),
  ]);
  const nowCounting = [...changed.values()].map((c) => {
    const row = current.get(c.surveyId)!;
    const about = { ticketId: row.ticket_id as string, subject: (row.subject as string) ?? null, agentName: (row.agent_name as string) ?? null, questionId: c.before.questionId, comment: c.comment };
    return { surveyId: c.surveyId, previous: c.before.score, score: c.score, agentId: c.before.agentId, team: c.before.team, at: c.ratedAt, about };
  });
  await followRatings(trx, nowCounting, lowAtOrBelow, hookUrls, alert);
  const now = requests[0]?.now ?? new Date();
  await supersedePending(trx, [...settledBy], counted, now);
  if (counted.length) await trx('rating_attempts').whereIn('id', counted).update({ status: 'counted', reason: 'no_scanner_signal', decided_at: now });
  return outcomes;
}

type SurveyRow = Record<string, unknown>;

/** The body of a rating webhook: what changed, and whose ticket it was. */
function ratingEvent(row: SurveyRow, before: SurveyFacts, decision: RatingDecision, surveyId: string, ratedAt: Date) {
  return {
    event: before.score === null ? 'rating.created' : 'rating.updated',
    survey_id: surveyId,
    ticket_id: row.ticket_id,
    agent: before.agentId ? { id: before.agentId, name: row.agent_name ?? null } : null,
    team: before.team,
    score: decision.next.score,
    comment: decision.next.comment,
    question_id: before.questionId,
    variant: before.variant,
    rated_at: ratedAt.toISOString(),
  };
}

export async function ratingHistory(db: Db, surveyId: string) {
  return db('rating_events').where({ survey_id: surveyId }).orderBy('id').select('kind', 'score', 'comment', 'created_at');
}

/** Every rating of a survey, every POST that tried to rate it and what the rules made of it, beside the link opens they read. */
export async function ratingRecord(db: Db, surveyId: string) {
  const iso = (v: unknown) => (v === null || v === undefined ? null : toDate(v).toISOString());
  const history = await ratingHistory(db, surveyId);
  const attempts = await attemptsOf(db, surveyId);
  const opens = await db('link_events').where({ survey_id: surveyId }).orderBy('id').select('kind', 'score', 'created_at');
  return {
    rating_history: history.map((h) => ({ kind: h.kind, score: h.score ?? null, comment: h.comment ?? null, at: iso(h.created_at) })),
    rating_attempts: attempts.map((a) => ({
      source: a.source,
      score: a.score ?? null,
      status: a.status,
      reason: a.reason ?? null,
      visible_ms: a.visible_ms ?? null,
      interacted: a.interacted === null || a.interacted === undefined ? null : Boolean(a.interacted),
      at: iso(a.created_at),
      decided_at: iso(a.decided_at),
    })),
    link_events: opens.map((e) => ({ kind: e.kind, score: e.score ?? null, at: iso(e.created_at) })),
  };
}
