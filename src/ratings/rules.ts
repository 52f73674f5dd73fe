import { AppError } from '../shared/errors';
import { addDays } from '../shared/clock';

export type LinkEventKind = 'view' | 'scanner_multi_score' | 'scanner_decoy';
export type RatingEventKind = 'rated' | 'changed' | 'commented';

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

/** Why a rating link cannot be used: unknown (404) or past its expiry (410); undefined when it can. */
export function linkRefusal(link: { expired: boolean } | undefined): AppError | undefined {
  if (!link) return new AppError(404, 'not_found');
  if (link.expired) return new AppError(410, 'survey_closed');
  return undefined;
}

/** Answers may change until RATING_CHANGE_DAYS after the first rating. */
export function changeWindowOpen(firstRatedAt: Date | null, now: Date, changeDays: number): boolean {
  return firstRatedAt === null || now <= addDays(firstRatedAt, changeDays);
}

/** Different scores of one email opened around a rating that make it a scanner's sweep: people open one, or two when they change their mind. */
export const BURST_MIN_SCORES = 3;

export type LinkOpen = { kind: string; score: number | null; at: Date };
export type ScannerVerdict = { discard: false } | { discard: true; reason: 'scanner_burst' | 'scanner_decoy' };

/**
 * Whether a rating the page posted by itself at `at` is a mail scanner's: the decoy link (which
 * no person sees) was hit, or BURST_MIN_SCORES or more different scores of the email were opened,
 * within `windowMs` before or after it. A scanner pass long before or after a person's click is
 * outside the window, so it never blocks the person.
 */
export function scannerVerdict(opens: readonly LinkOpen[], at: Date, windowMs: number): ScannerVerdict {
  const near = opens.filter((o) => Math.abs(o.at.getTime() - at.getTime()) <= windowMs);
  if (near.some((o) => o.kind === 'scanner_decoy')) return { discard: true, reason: 'scanner_decoy' };
  const scores = new Set(near.filter((o) => o.kind === 'view' && o.score !== null).map((o) => o.score));
  if (scores.size >= BURST_MIN_SCORES) return { discard: true, reason: 'scanner_burst' };
  return { discard: false };
}
