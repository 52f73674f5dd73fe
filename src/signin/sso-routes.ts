import { Router, type Response } from 'express';
import { safeError, type Logger } from '../shared/logger';
import type { Views } from '../shared/views';
import type { SigninService } from './service';
import { decodeAttempt, encodeAttempt, providerUnreachable, SSO_ATTEMPT_MINUTES, type Sso } from './sso';
import type { SiteCookie } from './cookies';
import type { Viewer } from './sessions';

/** Why a sign-in through the provider was refused, as the page says it. */
const REFUSALS = {
  sso_no_attempt: `This sign-in did not start here, or took longer than ${SSO_ATTEMPT_MINUTES} minutes. Start again.`,
  sso_refused: 'The sign-in provider did not sign you in.',
  sso_check_failed: 'The answer from the sign-in provider did not pass its checks. Start again.',
  sso_unavailable: 'The sign-in provider did not answer. Try again in a minute, or ask for an emailed link.',
  no_email: 'The sign-in provider did not tell us your email address.',
  email_not_verified: 'The sign-in provider has not verified your email address.',
  sso_unknown_email: 'There is no Closeloop user with the email address of your account. Ask an admin to add you.',
} as const;

/**
 * GET /login/sso (off to the provider, with state, nonce and PKCE kept in a short-lived cookie)
 * and GET /login/sso/callback (back from it: the checks, then a session for the user with the
 * provider's email). Every refusal is a page that says why and a failed sign-in in the audit trail.
 */
export function ssoRoutes(deps: { sso: Sso; signin: SigninService; views: Views; logger: Logger; attemptCookie: SiteCookie; sessionCookie: SiteCookie; home: (viewer: Viewer) => string }): Router {
  const router = Router();
  const page = (res: Response, status: number, heading: string, text: string) =>
    res.status(status).send(deps.views.page('message', { title: 'Sign in', heading, text, link: { href: '/login', text: 'Back to sign-in' } }, 'report'));
  const refuse = async (res: Response, reason: keyof typeof REFUSALS, status: number, audited = false) => {
    if (!audited) await deps.signin.failedProvider(reason, res.req.ip ?? null);
    page(res, status, 'You are not signed in.', REFUSALS[reason]);
  };

  router.get('/login/sso', async (_req, res) => {
    let started;
    try {
      started = await deps.sso.start();
    } catch (err) {
      deps.logger.warn({ err: safeError(err) }, 'single sign-on: the provider could not be reached');
      return void page(res, 503, 'Single sign-on is unavailable right now.', REFUSALS.sso_unavailable);
    }
    deps.attemptCookie.set(res, encodeAttempt(started.attempt));
    res.redirect(303, started.url);
  });

  router.get('/login/sso/callback', async (req, res) => {
    const attempt = decodeAttempt(deps.attemptCookie.read(req));
    deps.attemptCookie.clear(res); // one use, whatever happens next
    if (!attempt) return refuse(res, 'sso_no_attempt', 400);
    if (typeof req.query.error === 'string') return refuse(res, 'sso_refused', 400);
    const search = new URL(req.originalUrl, 'http://x').search;
    let identity;
    try {
      identity = await deps.sso.finish(new URL(`${deps.sso.redirectUri}${search}`), attempt);
    } catch (err) {
      // The library's error names the failed check; the code and tokens are never logged.
      const unreachable = providerUnreachable(err);
      deps.logger.warn({ err: safeError(err) }, unreachable ? 'single sign-on: the provider could not be reached' : 'single sign-on: the callback failed its checks');
      return unreachable ? refuse(res, 'sso_unavailable', 503) : refuse(res, 'sso_check_failed', 400);
    }
    if ('problem' in identity) return refuse(res, identity.problem, 403);
    const signed = await deps.signin.signInByProvider(identity.email, req.ip ?? null);
    if (!signed) return refuse(res, 'sso_unknown_email', 403, true);
    deps.sessionCookie.set(res, signed.session);
    res.redirect(303, deps.home(signed.viewer));
  });

  return router;
}
