import type { Ledger } from '../surveys/counters/ledger';
import type { Db } from '../shared/db';
import { AppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { SurveyService } from '../surveys/service';
import type { Survey } from '../surveys/types';
import type { AlertTarget } from '../followups/state';
import * as repo from './repository';
import { changeWindowOpen, decideRating, linkRefusal, scannerVerdict, type RatingInput } from './rules';
import * as attempts from './attempts';
import { safeError, type Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { createBatchWriter } from '../shared/batch';

/** Opening links of different scores of one email within this window is what scanners do, not people. */
export const SCANNER_WINDOW_MS = 10_000;

/** The most answers one transaction takes. */
export const RATING_BATCH_MAX = 64;

export type RatingService = ReturnType<typeof createRatingService>;

const EVENT_KIND = { rated: 'first', changed: 'changed', commented: 'comment' } as const;

/** Pending ratings decided per pass of the hold loop. */
const DECIDE_BATCH = 100;

export function createRatingService(deps: {
  db: Db;
  ledger: Ledger;
  clock: Clock;
  surveys: SurveyService;
  ratingChangeDays: number;
  /** RATING_HOLD_SECONDS: how long a rating the page posted by itself waits, and the window scanner signals are looked for in. */
  holdSeconds: number;
  hookUrls?: readonly string[];
  /** ALERT_MAX_SCORE: a counted rating at or below it opens a follow-up. */
  followUpAtOrBelow: number;
  /** ALERT_WEBHOOK_URL and PUBLIC_URL: where a new follow-up's alert goes. */
  alert: AlertTarget;
  metrics?: Metrics;
  logger?: Logger;
}) {
  const { db, clock, surveys } = deps;
  const holdMs = deps.holdSeconds * 1000;
  // Answers arriving together share one transaction (group commit, shared/batch.ts).
  const writer = createBatchWriter({
    db,
    maxItems: RATING_BATCH_MAX,
    write: (trx, requests: repo.RatingRequest[]) => repo.recordRatings(trx, deps.ledger, deps.hookUrls ?? [], requests, deps.followUpAtOrBelow, deps.alert),
    onCommit: (size) => deps.metrics?.writeBatchSize.observe({ kind: 'rating' }, size),
  });

  async function openSurvey(token: string): Promise<Survey> {
    const found = await surveys.findByToken(token);
    const refusal = linkRefusal(found);
    if (refusal || !found) throw refusal ?? new AppError(404, 'not_found');
    return found.survey;
  }

  const countEvents = (events: readonly { kind: keyof typeof EVENT_KIND }[]) => {
    for (const event of events) deps.metrics?.ratings.inc({ kind: EVENT_KIND[event.kind] });
  };

  /**
   * Decides the pending ratings whose hold is over (oldest first): discarded when scanner signals
   * fall within the hold window before or after it, superseded by a later one of the same survey,
   * else counted through the same transaction as a customer's submit. Returns how many it decided.
   */
  async function decidePending(): Promise<number> {
    const now = clock.now();
    const due = await attempts.duePending(db, now, DECIDE_BATCH);
    for (const a of due) {
      const opens = await attempts.opensBetween(db, a.surveyId, new Date(a.createdAt.getTime() - holdMs), new Date(a.createdAt.getTime() + holdMs));
      const verdict = scannerVerdict(opens, a.createdAt, holdMs);
      if (verdict.discard) {
        if (await attempts.settle(db, a.id, 'discarded', verdict.reason, now)) deps.metrics?.ratingAttempts.inc({ source: 'page', outcome: 'discarded' });
        continue;
      }
      if (await attempts.hasLaterPending(db, a)) {
        await attempts.settle(db, a.id, 'superseded', 'later_rating', now);
        continue;
      }
      try {
        const decision = await writer.submit({
          tokenHash: a.tokenHash,
          now,
          attempt: { kind: 'held', id: a.id },
          decide: (current) => {
            if (current.score !== null) throw new AppError(409, 'already_rated');
            return decideRating(current, { score: a.score }, now, deps.ratingChangeDays);
          },
        });
        countEvents(decision.events);
        deps.metrics?.ratingAttempts.inc({ source: 'page', outcome: 'counted' });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.code === 'already_decided') continue;
        const [status, reason] = err.code === 'already_rated' ? (['ignored', 'already_rated'] as const) : (['discarded', err.code] as const);
        await attempts.settle(db, a.id, status, reason, now);
      }
    }
    return due.length;
  }

  // The hold loop: every instance runs one; a pending rating counts within RATING_HOLD_SECONDS plus one pass.
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  function startDeciding(intervalMs = Math.min(5_000, Math.max(250, holdMs / 4))) {
    if (timer) return;
    timer = setInterval(() => {
      running = running.then(async () => {
        try {
          while ((await decidePending()) === DECIDE_BATCH);
        } catch (err) {
          // Its code and the driver's short message, never the statement's bound values (safeError).
          deps.logger?.error({ err: safeError(err) }, 'deciding pending ratings failed; the next pass tries again');
        }
      });
    }, intervalMs);
    timer.unref();
  }
  async function stopDeciding() {
    if (timer) clearInterval(timer);
    timer = undefined;
    await running;
  }

  return {
    openSurvey,

    /** A survey's ratings, rating attempts and link opens, for the operators' API. */
    ratingRecord: (surveyId: string) => repo.ratingRecord(db, surveyId),

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

    /**
     * A customer's own submit (a button, the comment form, a JSON POST): counts at once, and settles
     * any rating of the same survey that was waiting. The token is resolved inside the write's
     * transaction: one trip to the database, 404 or 410 as a page GET answers.
     */
    async recordRating(token: string, input: RatingInput) {
      const tokenHash = surveys.tokenHashOf(token);
      if (!tokenHash) throw new AppError(404, 'not_found');
      const now = clock.now();
      const decision = await writer.submit({ tokenHash, now, attempt: { kind: 'form' }, decide: (current) => decideRating(current, input, now, deps.ratingChangeDays) });
      countEvents(decision.events);
      deps.metrics?.ratingAttempts.inc({ source: 'form', outcome: decision.events.length ? 'counted' : 'ignored' });
      return decision.next;
    },

    /**
     * A rating the page posted by itself once it was visible. Mail scanners that run JavaScript do
     * that too, so it waits RATING_HOLD_SECONDS (pending) and decidePending() counts it unless scanner
     * signals surround it. Once a rating counts, such posts (a re-scan, a forwarded email) change nothing.
     */
    async holdRating(token: string, score: number, signals: attempts.PageSignals): Promise<{ status: 'pending' | 'ignored'; score: number }> {
      const survey = await openSurvey(token);
      const tokenHash = surveys.tokenHashOf(token) as string;
      const now = clock.now();
      if (survey.score !== null) {
        await attempts.insertIgnored(db, { surveyId: survey.id, tokenHash, score, signals, now, reason: 'already_rated' });
        deps.metrics?.ratingAttempts.inc({ source: 'page', outcome: 'ignored' });
        return { status: 'ignored', score: survey.score };
      }
      await attempts.insertPending(db, { surveyId: survey.id, tokenHash, score, signals, now, decideAfter: new Date(now.getTime() + holdMs) });
      deps.metrics?.ratingAttempts.inc({ source: 'page', outcome: 'pending' });
      return { status: 'pending', score };
    },

    /** The score a survey's page shows while its rating waits: the newest pending one. */
    pendingScore: async (survey: Survey): Promise<number | null> => (survey.score === null ? (await attempts.latestPending(db, survey.id))?.score ?? null : null),

    decidePending,
    startDeciding,
    stopDeciding,

    /** Whether the customer may still change this survey's answer. */
    canChange: (survey: Survey): boolean => changeWindowOpen(survey.firstRatedAt, clock.now(), deps.ratingChangeDays),
  };
}
