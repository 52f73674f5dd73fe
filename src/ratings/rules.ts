import { AppError } from '../shared/errors';
import { addDays } from '../shared/clock';
import type { RatingEventKind } from './repository';

export type RatingState = { score: number | null; comment: string | null; firstRatedAt: Date | null };
export type RatingInput = { score?: number; comment?: string };
export type RatingDecision = {
  events: Array<{ kind: RatingEventKind; score: number | null; comment: string | null }>;
  next: { score: number; comment: string | null; firstRatedAt: Date };
};

/**
 * The latest answer wins while the change window (counted from the first rating) is open;
 * every change is kept as an event. Returns no events when nothing changes.
 */
export function decideRating(current: RatingState, input: RatingInput, now: Date, changeDays: number): RatingDecision {
  const score = input.score ?? current.score;
  if (score === null) throw new AppError(400, 'score_required', 'Choose a rating before adding a comment.');
  const comment = input.comment === undefined ? current.comment : input.comment.trim() || null;
  const firstRatedAt = current.firstRatedAt ?? now;

  const events: RatingDecision['events'] = [];
  if (current.score === null) events.push({ kind: 'rated', score, comment: null });
  else if (score !== current.score) events.push({ kind: 'changed', score, comment: null });
  if (comment !== current.comment) events.push({ kind: 'commented', score: null, comment });

  const isChange = current.score !== null && events.length > 0;
  if (isChange && !changeWindowOpen(current.firstRatedAt, now, changeDays)) {
    throw new AppError(409, 'rating_locked', 'This rating can no longer be changed.');
  }
  return { events, next: { score, comment, firstRatedAt } };
}

/** Answers may change until RATING_CHANGE_DAYS after the first rating. */
/** Why a rating link cannot be used: unknown (404) or past its expiry (410); undefined when it can. */
export function linkRefusal(link: { expired: boolean } | undefined): AppError | undefined {
  if (!link) return new AppError(404, 'not_found');
  if (link.expired) return new AppError(410, 'survey_closed');
  return undefined;
}

export function changeWindowOpen(firstRatedAt: Date | null, now: Date, changeDays: number): boolean {
  return firstRatedAt === null || now <= addDays(firstRatedAt, changeDays);
}
