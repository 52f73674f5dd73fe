import { changeWindowOpen, decideRating, scannerVerdict, type RatingState } from '../../src/ratings/rules';
import { AppError } from '../../src/shared/errors';

const DAY_MS = 86_400_000;
const t0 = new Date('2026-11-20T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const unrated: RatingState = { score: null, comment: null, firstRatedAt: null };
const rated = (score: number, comment: string | null = null): RatingState => ({ score, comment, firstRatedAt: t0 });

function appErrorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('decideRating', () => {
  it('when the first score arrives, then one rated event is kept and the first-rating time is now', () => {
    const now = at(1000);
    expect(decideRating(unrated, { score: 4 }, now, 14)).toEqual({
      events: [{ kind: 'rated', score: 4, comment: null }],
      next: { score: 4, comment: null, firstRatedAt: now },
    });
  });

  it('when the first score comes with a comment, then a rated and a commented event are kept, the comment trimmed', () => {
    const decision = decideRating(unrated, { score: 2, comment: '  Too slow.\n' }, t0, 14);
    expect(decision.events).toEqual([
      { kind: 'rated', score: 2, comment: null },
      { kind: 'commented', score: null, comment: 'Too slow.' },
    ]);
    expect(decision.next.comment).toBe('Too slow.');
  });

  it('when a different score arrives inside the window, then it wins as a changed event and the first-rating time stays', () => {
    expect(decideRating(rated(2), { score: 5 }, at(DAY_MS), 14)).toEqual({
      events: [{ kind: 'changed', score: 5, comment: null }],
      next: { score: 5, comment: null, firstRatedAt: t0 },
    });
  });

  it('when the same score arrives again, then there are no events', () => {
    expect(decideRating(rated(3), { score: 3 }, at(1000), 14).events).toEqual([]);
  });

  it('when only a comment arrives for a rated survey, then the score stays and a commented event is kept', () => {
    const decision = decideRating(rated(3), { comment: 'Thanks' }, at(1000), 14);
    expect(decision.events).toEqual([{ kind: 'commented', score: null, comment: 'Thanks' }]);
    expect(decision.next).toEqual({ score: 3, comment: 'Thanks', firstRatedAt: t0 });
  });

  it('when the same comment arrives again, then there are no events', () => {
    expect(decideRating(rated(3, 'Thanks'), { score: 3, comment: ' Thanks ' }, at(1000), 14).events).toEqual([]);
  });

  it('when a blank comment replaces one, then the comment is cleared as a commented event', () => {
    const decision = decideRating(rated(3, 'Thanks'), { comment: '   ' }, at(1000), 14);
    expect(decision.events).toEqual([{ kind: 'commented', score: null, comment: null }]);
    expect(decision.next.comment).toBeNull();
  });

  it('when a comment arrives before any score, then it is refused with 400 score_required', () => {
    const err = appErrorOf(() => decideRating(unrated, { comment: 'Hello' }, t0, 14));
    expect([err.status, err.code]).toEqual([400, 'score_required']);
  });

  it('when a different score arrives after the window, then it is refused with 409 rating_locked', () => {
    const err = appErrorOf(() => decideRating(rated(2), { score: 5 }, at(14 * DAY_MS + 1), 14));
    expect([err.status, err.code]).toEqual([409, 'rating_locked']);
  });

  it('when a new comment arrives after the window, then it is refused with 409 as well', () => {
    const err = appErrorOf(() => decideRating(rated(2), { comment: 'late' }, at(15 * DAY_MS), 14));
    expect(err.status).toBe(409);
  });

  it('when the same score arrives after the window, then nothing changes and nothing is refused', () => {
    expect(decideRating(rated(2), { score: 2 }, at(30 * DAY_MS), 14).events).toEqual([]);
  });

  it('when the window is zero days, then the first rating is still accepted', () => {
    expect(decideRating(unrated, { score: 1 }, t0, 0).events).toEqual([{ kind: 'rated', score: 1, comment: null }]);
  });
});

describe('changeWindowOpen', () => {
  it('when nothing was rated yet, then the window is open', () => {
    expect(changeWindowOpen(null, at(365 * DAY_MS), 0)).toBe(true);
  });

  it('when exactly the change days have passed, then the window is still open; a millisecond later it is closed', () => {
    expect(changeWindowOpen(t0, at(14 * DAY_MS), 14)).toBe(true);
    expect(changeWindowOpen(t0, at(14 * DAY_MS + 1), 14)).toBe(false);
  });

  it('when the window is zero days, then it closes right after the first rating', () => {
    expect(changeWindowOpen(t0, t0, 0)).toBe(true);
    expect(changeWindowOpen(t0, at(1), 0)).toBe(false);
  });
});

describe('scannerVerdict', () => {
  const at = new Date('2026-11-20T10:00:00Z');
  const t = (s: number) => new Date(at.getTime() + s * 1000);
  const view = (score: number, s: number) => ({ kind: 'view', score, at: t(s) });

  it('when one or two scores were opened around the post, then it is not a scanner (a person changing their mind)', () => {
    expect(scannerVerdict([view(3, -1)], at, 60_000)).toEqual({ discard: false });
    expect(scannerVerdict([view(3, -20), view(4, -1), view(4, 30)], at, 60_000)).toEqual({ discard: false });
  });

  it('when three different scores were opened within the window, before or after, then it is a burst; outside it they do not count', () => {
    expect(scannerVerdict([view(1, -60), view(2, 0), view(3, 60)], at, 60_000)).toEqual({ discard: true, reason: 'scanner_burst' });
    expect(scannerVerdict([view(1, -61), view(2, 0), view(3, 61)], at, 60_000)).toEqual({ discard: false });
  });

  it('when the decoy was hit within the window, then it is a scanner; an hour earlier, it is not', () => {
    expect(scannerVerdict([view(4, 0), { kind: 'scanner_decoy', score: null, at: t(-30) }], at, 60_000)).toEqual({ discard: true, reason: 'scanner_decoy' });
    expect(scannerVerdict([view(4, 0), { kind: 'scanner_decoy', score: null, at: t(-3600) }], at, 60_000)).toEqual({ discard: false });
  });
});
