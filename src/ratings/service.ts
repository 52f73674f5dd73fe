import type { Ledger } from '../reports/ledger';
import type { Db } from '../shared/db';
import { AppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { SurveyService } from '../surveys/service';
import type { Survey } from '../surveys/types';
import * as repo from './repository';
import { changeWindowOpen, decideRating, linkRefusal, type RatingInput } from './rules';
import type { Metrics } from '../shared/metrics';
import { createBatchWriter } from '../shared/batch';

/** Opening links of different scores of one email within this window is what scanners do, not people. */
export const SCANNER_WINDOW_MS = 10_000;

/** The most answers one transaction takes. */
export const RATING_BATCH_MAX = 64;

export type RatingService = ReturnType<typeof createRatingService>;

const EVENT_KIND = { rated: 'first', changed: 'changed', commented: 'comment' } as const;

export function createRatingService(deps: { db: Db; ledger: Ledger; clock: Clock; surveys: SurveyService; ratingChangeDays: number; hookUrls?: readonly string[]; metrics?: Metrics }) {
  const { db, clock, surveys } = deps;
  // Answers arriving together share one transaction (group commit, shared/batch.ts).
  const writer = createBatchWriter({
    db,
    maxItems: RATING_BATCH_MAX,
    write: (trx, requests: repo.RatingRequest[]) => repo.recordRatings(trx, deps.ledger, deps.hookUrls ?? [], requests),
    onCommit: (size) => deps.metrics?.writeBatchSize.observe({ kind: 'rating' }, size),
  });

  async function openSurvey(token: string): Promise<Survey> {
    const found = await surveys.findByToken(token);
    const refusal = linkRefusal(found);
    if (refusal || !found) throw refusal;
    return found.survey;
  }

  return {
    openSurvey,

    /** A GET of a rating link: never a rating, but remembered so scanner sweeps show up. */
    async viewScore(token: string, score: number): Promise<Survey> {
      const survey = await openSurvey(token);
      const now = clock.now();
      const since = new Date(now.getTime() - SCANNER_WINDOW_MS);
      if ((await repo.otherScoresViewedSince(db, survey.id, score, since)) > 0) {
        await repo.insertLinkEvent(db, survey.id, 'scanner_multi_score', score, now);
        deps.metrics?.scannerHits.inc({ kind: 'multi_score' });
      }
      await repo.insertLinkEvent(db, survey.id, 'view', score, now);
      return survey;
    },

    /** The hidden link in the HTML email: only software follows it. */
    async decoyHit(token: string): Promise<void> {
      const found = await surveys.findByToken(token);
      if (!found) throw new AppError(404, 'not_found');
      await repo.insertLinkEvent(db, found.survey.id, 'scanner_decoy', null, clock.now());
      deps.metrics?.scannerHits.inc({ kind: 'decoy' });
    },

    /** The token is resolved inside the write's transaction: one trip to the database, 404 or 410 as a page GET answers. */
    async recordRating(token: string, input: RatingInput) {
      const tokenHash = surveys.tokenHashOf(token);
      if (!tokenHash) throw new AppError(404, 'not_found');
      const now = clock.now();
      const decision = await writer.submit({ tokenHash, now, decide: (current) => decideRating(current, input, now, deps.ratingChangeDays) });
      for (const event of decision.events) deps.metrics?.ratings.inc({ kind: EVENT_KIND[event.kind] });
      return decision.next;
    },

    /** Whether the customer may still change this survey's answer. */
    canChange: (survey: Survey): boolean => changeWindowOpen(survey.firstRatedAt, clock.now(), deps.ratingChangeDays),
  };
}
