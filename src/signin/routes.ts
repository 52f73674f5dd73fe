import express, { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { htmlErrors, sameOriginOnly } from '../shared/http';
import type { Views } from '../shared/views';
import type { SigninService } from './service';
import type { Viewer } from './sessions';
import type { Access } from '../shared/access';
import type { Logger } from '../shared/logger';
import { SSO_ATTEMPT_MINUTES, type Sso } from './sso';
import { ssoRoutes } from './sso-routes';
import { siteCookie, type SiteCookie } from './cookies';

/** The signed-in viewer of this request (res.locals.viewer), or undefined. */
export const viewerOf = (res: Response): Viewer | undefined => res.locals.viewer as Viewer | undefined;

/** What a signed-in user may read (shared/access.ts): an admin everything, a lead their teams, an agent their own rows (AGENT_VIEW=own) or nothing. */
export function accessOf(viewer: Viewer, agentView: 'own' | 'none'): Access {
  if (viewer.role === 'admin') return { kind: 'all' };
  if (viewer.role === 'lead') return { kind: 'teams', teams: viewer.teams };
  return agentView === 'own' && viewer.agentId ? { kind: 'agent', agentId: viewer.agentId } : { kind: 'none' };
}

/** Reads the session cookie, when there is one, into res.locals.viewer and .access (and the secret into res.locals.session). */
export function readSession(signin: SigninService, cookie: SiteCookie, agentView: 'own' | 'none'): RequestHandler {
  return (req, res, next) => {
    const session = cookie.read(req);
    if (!session) return next();
    signin
      .viewer(session)
      .then((viewer) => {
        if (viewer) Object.assign(res.locals, { viewer, session, access: accessOf(viewer, agentView) });
        else cookie.clear(res); // ended, expired or unknown: the browser forgets it
        next();
      })
      .catch(next);
  };
}

/** Where a viewer lands after signing in: the reports of their scope, or an agent's own page. */
export function homeOf(viewer: Viewer, agentView: 'own' | 'none'): string {
  if (viewer.role !== 'agent') return '/reports/agents';
  return agentView === 'own' && viewer.agentId ? `/reports/agents/${encodeURIComponent(viewer.agentId)}` : '/me';
}

const emailForm = z.object({ email: z.string().max(320).default('') });
const csrfForm = z.object({ csrf: z.string().max(100).default('') });
const form = express.urlencoded({ extended: false, limit: '2kb' });

/**
 * GET/POST /login (ask for a link), GET/POST /login/:token (a page with a button; only the POST
 * signs in, as mail scanners open links), GET /login/sso and its callback when single sign-on is
 * configured (sso-routes.ts), POST /logout (with the session's CSRF token), GET /me.
 */
export function signinRoutes(deps: { signin: SigninService; views: Views; publicUrl: string; cookie: SiteCookie; agentView: 'own' | 'none'; sso?: Sso; logger: Logger }): Router {
  const router = Router();
  const page = (res: Response, name: string, context: Record<string, unknown>, status = 200) => res.status(status).send(deps.views.page(name, context, 'report'));
  router.use(['/login', '/logout', '/me'], htmlErrors, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer'); // the link's secret never leaves in a Referer
    next();
  });
  if (deps.sso) {
    const attemptCookie = siteCookie(deps.publicUrl, 'closeloop_sso', SSO_ATTEMPT_MINUTES * 60);
    router.use(ssoRoutes({ sso: deps.sso, signin: deps.signin, views: deps.views, logger: deps.logger, attemptCookie, sessionCookie: deps.cookie, home: (v) => homeOf(v, deps.agentView) }));
  }

  router.get('/login', (_req, res) => {
    const viewer = viewerOf(res);
    if (viewer) return void res.redirect(303, homeOf(viewer, deps.agentView));
    page(res, 'login', { title: 'Sign in', sso: Boolean(deps.sso) });
  });

  // The same answer for every address, known or not, well-formed or not: it tells nobody who has an account.
  router.post('/login', sameOriginOnly(deps.publicUrl), form, async (req, res) => {
    const { email } = emailForm.parse(req.body ?? {});
    if (/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(email.trim())) await deps.signin.requestLink(email, req.ip ?? null);
    page(res, 'message', { title: 'Check your email', heading: 'Check your email.', text: 'If this address belongs to a Closeloop user, a sign-in link is on its way. It works once, for 15 minutes.' });
  });

  router.get('/login/:token', (req, res) => {
    page(res, 'login-confirm', { title: 'Sign in', action: `/login/${encodeURIComponent(String(req.params.token))}` });
  });

  router.post('/login/:token', sameOriginOnly(deps.publicUrl), async (req, res) => {
    const signed = await deps.signin.signIn(String(req.params.token), req.ip ?? null);
    if (!signed) return void page(res, 'message', { title: 'Sign in', heading: 'This sign-in link does not work any more.', text: 'A link works once, for 15 minutes. Ask for a new one at /login.' }, 400);
    deps.cookie.set(res, signed.session);
    res.redirect(303, homeOf(signed.viewer, deps.agentView));
  });

  router.post('/logout', sameOriginOnly(deps.publicUrl), form, async (req, res) => {
    const viewer = viewerOf(res);
    if (viewer && csrfForm.parse(req.body ?? {}).csrf !== viewer.csrf) throw new AppError(403, 'csrf', 'The form is stale: reload the page and try again.');
    if (viewer) await deps.signin.signOut(res.locals.session as string, viewer, req.ip ?? null);
    deps.cookie.clear(res);
    res.redirect(303, '/login');
  });

  router.get('/me', (_req, res) => {
    const viewer = viewerOf(res);
    if (!viewer) return void res.redirect(303, '/login');
    res.json({ email: viewer.email, name: viewer.name, role: viewer.role, teams: viewer.teams, agent_id: viewer.agentId });
  });
  return router;
}
