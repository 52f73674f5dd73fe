import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { maskEmails, safeError, type Logger } from '../shared/logger';
import type { Mailer } from '../delivery/mailer';
import type { Views } from '../shared/views';
import { record } from '../audit/record';
import type { UserService } from '../people/service';
import * as sessions from './sessions';

export type SigninService = ReturnType<typeof createSigninService>;

/** A sign-in link works this long, once. */
export const LINK_MINUTES = 15;
/** At most this many links per user in LINK_MINUTES: more asks (someone mail-bombing a lead) send nothing. */
export const LINKS_PER_WINDOW = 5;

/**
 * Sign-in without passwords: a known user asks for a link by email and gets a one-time link valid
 * LINK_MINUTES; using it (a POST: a mail scanner's GET changes nothing) opens a server-side session.
 * An unknown address gets the same answer and no email. Every sign-in, failed sign-in and sign-out
 * is in the audit trail.
 */
export function createSigninService(deps: { db: Db; clock: Clock; logger: Logger; mailer: Mailer; views: Views; users: UserService; publicUrl: string; mailFrom: string; times: sessions.SessionTimes }) {
  const { db, clock, logger } = deps;
  const domain = new URL(deps.publicUrl).hostname;

  function mailLink(to: string, name: string, token: string) {
    const context = { name, url: `${deps.publicUrl}/login/${token}`, minutes: LINK_MINUTES };
    const text = deps.views.email('signin.text', context);
    const html = deps.views.email('signin.html', context);
    // Sent after the answer, so a known address takes no longer to answer than an unknown one; a lost link is asked for again.
    deps.mailer
      .send({ to, from: deps.mailFrom, subject: 'Your Closeloop sign-in link', text, html, messageId: `<signin.${sessions.newSecret().slice(0, 16)}@${domain}>` })
      .catch((err: unknown) => logger.warn({ err: safeError(err), error: maskEmails(String((err as Error)?.message ?? err)) }, 'sign-in link could not be sent'));
  }

  return {
    /** POST /login: a link for a known address, nothing for an unknown one; the caller answers the same either way. */
    async requestLink(email: string, ip: string | null): Promise<void> {
      const now = clock.now();
      const user = await deps.users.byEmail(email);
      if (!user) {
        await record(db, { actor: email.trim().toLowerCase(), action: 'signin_failed', detail: { reason: 'unknown_email' }, ip }, now);
        return;
      }
      if ((await sessions.linksSince(db, user.id, new Date(now.getTime() - LINK_MINUTES * 60_000))) >= LINKS_PER_WINDOW) {
        await record(db, { actor: user.email, action: 'signin_failed', detail: { reason: 'too_many_links' }, ip }, now);
        return;
      }
      const token = await sessions.createLink(db, user.id, now, LINK_MINUTES);
      await record(db, { actor: user.email, action: 'signin_link_sent', ip }, now);
      mailLink(user.email, user.name, token);
    },

    /** POST /login/:token: the link's session secret, or null (unknown, used or expired: recorded as a failed sign-in). */
    async signIn(token: string, ip: string | null): Promise<{ session: string; viewer: sessions.Viewer } | null> {
      const now = clock.now();
      const opened = sessions.looksLikeSecret(token) ? await sessions.useLink(db, token, now, deps.times) : null;
      const viewer = opened && (await sessions.viewerOf(db, opened.session, now, deps.times));
      if (!opened || !viewer) {
        await record(db, { actor: 'unknown', action: 'signin_failed', detail: { reason: 'link_invalid_used_or_expired' }, ip }, now);
        return null;
      }
      await record(db, { actor: viewer.email, action: 'signin', detail: { role: viewer.role, method: 'link' }, ip }, now);
      return { session: opened.session, viewer };
    },

    /**
     * A sign-in through single sign-on (sso.ts): the provider vouched for `email`; a user with that
     * email gets a session. Null when there is none (recorded as a failed sign-in, like every refusal).
     */
    async signInByProvider(email: string, ip: string | null): Promise<{ session: string; viewer: sessions.Viewer } | null> {
      const now = clock.now();
      const user = await deps.users.byEmail(email);
      if (!user) {
        await record(db, { actor: email.trim().toLowerCase(), action: 'signin_failed', detail: { reason: 'sso_unknown_email' }, ip }, now);
        return null;
      }
      const session = await sessions.openSession(db, user.id, now, deps.times);
      const viewer = (await sessions.viewerOf(db, session, now, deps.times)) as sessions.Viewer;
      await record(db, { actor: viewer.email, action: 'signin', detail: { role: viewer.role, method: 'sso' }, ip }, now);
      return { session, viewer };
    },

    /** A sign-in through single sign-on that failed before a user was known (the provider refused, or a check failed). */
    failedProvider: (reason: string, ip: string | null) => record(db, { actor: 'unknown', action: 'signin_failed', detail: { reason }, ip }, clock.now()),

    viewer: (session: string) => (sessions.looksLikeSecret(session) ? sessions.viewerOf(db, session, clock.now(), deps.times) : Promise.resolve(null)),

    async signOut(session: string, viewer: sessions.Viewer, ip: string | null): Promise<void> {
      await sessions.endSession(db, session);
      await record(db, { actor: viewer.email, action: 'signout', ip }, clock.now());
    },

    sweep: () => sessions.sweep(db, clock.now(), deps.times),
  };
}
