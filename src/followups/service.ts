import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { AppError } from '../shared/errors';
import * as repo from './repository';
import { changeFollowup, type FollowupChange } from './state';

export type FollowupService = ReturnType<typeof createFollowupService>;
export type { FollowupCursor, FollowupFilter } from './repository';

/** Follow-ups of low ratings, for leads (the operators' API): the queue, one follow-up, a change to it. */
export function createFollowupService(deps: { db: Db; clock: Clock; hookUrls: readonly string[] }) {
  const { db, clock } = deps;
  return {
    list: (filter: repo.FollowupFilter, limit: number, after?: repo.FollowupCursor) => repo.listFollowups(db, filter, limit, after),
    get: (id: number) => repo.findFollowup(db, id),
    /** The leads' notes on these follow-ups, oldest first, by follow-up id (for the /followups page). */
    notesOf: (ids: readonly number[]) => repo.notesOf(db, ids),
    /** Applies a lead's change as one event; 404 when there is no such follow-up. Answers the follow-up as it is now. */
    async change(id: number, change: FollowupChange) {
      const found = await db.transaction((trx) => changeFollowup(trx, id, change, clock.now(), deps.hookUrls));
      if (!found) throw new AppError(404, 'not_found');
      return (await repo.findFollowup(db, id))!;
    },
  };
}
