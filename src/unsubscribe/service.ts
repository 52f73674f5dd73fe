import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { AppError } from '../shared/errors';
import { maskEmail } from '../shared/logger';
import { hashToken, looksLikeToken } from '../surveys/tokens';
import type { SurveyService } from '../surveys/service';
import { ERASED_EMAIL } from '../surveys/state';
import * as repo from './repository';

export type UnsubscribeService = ReturnType<typeof createUnsubscribeService>;

/** Unsubscribe links and opt-outs: a link names a keyed hash of its address, never the address. */
export function createUnsubscribeService(deps: { db: Db; clock: Clock; surveys: SurveyService }) {
  const { db } = deps;
  return {
    /** The link of `token`; 404 when there is none. */
    async linkOf(token: string): Promise<repo.UnsubscribeLink> {
      const link = looksLikeToken(token) ? await repo.linkForToken(db, hashToken(token)) : undefined;
      if (!link) throw new AppError(404, 'not_found');
      return link;
    },

    /** What the page shows: the address masked, from the survey whose email carried the link while that survey still holds one, and whether it opted out. */
    async pageOf(link: repo.UnsubscribeLink): Promise<{ email?: string; optedOut: boolean }> {
      const address = link.surveyId ? (await deps.surveys.getSurvey(link.surveyId))?.customerEmail : undefined;
      const email = address && address !== ERASED_EMAIL ? maskEmail(address) : undefined;
      return { email, optedOut: await repo.isOptedOut(db, link.emailHash) };
    },

    optOut: (link: repo.UnsubscribeLink) => repo.optOut(db, link.emailHash, deps.clock.now()),
    optIn: (link: repo.UnsubscribeLink) => repo.optIn(db, link.emailHash),
  };
}
