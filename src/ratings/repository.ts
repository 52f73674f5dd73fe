import type { Db } from '../shared/db';
import { SURVEY_FACT_COLUMNS, toFacts, type Ledger, type SurveyFacts } from '../reports/ledger';
import { enqueueHooks } from '../hooks/repository';
import { toDate } from '../shared/db';
import type { RatingDecision, RatingState } from './rules';

export type LinkEventKind = 'view' | 'scanner_multi_score' | 'scanner_decoy';
export type RatingEventKind = 'rated' | 'changed' | 'commented';

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

/**
 * Reads the survey's current rating, lets `decide` choose what changes, and writes the
 * events and the new current rating, all inside one transaction, so concurrent
 * answers never interleave between the read and the write.
 */
export async function updateRating(
  db: Db,
  ledger: Ledger,
  hookUrls: readonly string[],
  surveyId: string,
  now: Date,
  decide: (current: RatingState) => RatingDecision,
): Promise<RatingDecision> {
  return db.transaction(async (trx) => {
    const query = trx('surveys').where({ id: surveyId }).first('first_rated_at', 'ticket_id', 'agent_name', ...SURVEY_FACT_COLUMNS);
    const row = await (db.client.config.client === 'sqlite3' ? query : query.forUpdate());
    const before = toFacts(row);
    const decision = decide({ score: row.score ?? null, comment: row.comment ?? null, firstRatedAt: toDate(row.first_rated_at, 'nullable') });
    if (decision.events.length === 0) return decision;
    await trx('rating_events').insert(decision.events.map((e) => ({ survey_id: surveyId, ...e, created_at: now })));
    await trx('surveys').where({ id: surveyId }).update({
      score: decision.next.score,
      comment: decision.next.comment,
      first_rated_at: decision.next.firstRatedAt,
      rated_at: now,
      updated_at: now,
    });
    await ledger.record(trx, before, { ...before, score: decision.next.score, comment: decision.next.comment });
    await enqueueHooks(trx, surveyId, hookUrls, ratingEvent(row, before, decision, surveyId, now), now);
    return decision;
  });
}

/** The body of a rating webhook: what changed, and whose ticket it was. */
function ratingEvent(row: Record<string, unknown>, before: SurveyFacts, decision: RatingDecision, surveyId: string, ratedAt: Date) {
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
