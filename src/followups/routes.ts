import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { adminAuth } from '../shared/auth';
import { AppError } from '../shared/errors';
import { htmlErrors, sameOriginOnly, sentToSignIn } from '../shared/http';
import { ONE_LINE, oneLine, parseOr400, TEXT, validateQuery, validQuery } from '../shared/validation';
import type { Views } from '../shared/views';
import type { Clock } from '../shared/clock';
import { FOLLOWUP_OUTCOMES, FOLLOWUP_STATUSES, type FollowupChange } from './state';
import type { FollowupService } from './service';
import { sessionAccess, signedIn, type Access } from '../shared/access';


const queueQuery = z.object({
  status: z.enum(['unresolved', ...FOLLOWUP_STATUSES]).default('unresolved'),
  team: oneLine(128).optional(),
  agent: oneLine(128).optional(),
});

/** The page's forms: take one, add a note, resolve with an outcome. */
const action = z.discriminatedUnion('action', [
  z.object({ action: z.literal('take') }),
  z.object({ action: z.literal('note'), note: z.string().trim().min(1, 'write a note').max(2000).regex(TEXT, 'must not contain control characters') }),
  z.object({ action: z.literal('resolve'), outcome: z.enum(FOLLOWUP_OUTCOMES) }),
]);

/** Who is acting: the user name a browser sent with the admin token (Basic), or "admin". */
function leadOf(req: Request): string {
  const [scheme, value] = (req.get('authorization') ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return 'admin';
  const user = Buffer.from(value, 'base64').toString('utf8').split(':')[0].trim();
  return user && ONE_LINE.test(user) ? user.slice(0, 200) : 'admin';
}

/**
 * `/followups`: the leads' queue in a browser, behind the admin credential (a browser asks for it:
 * any user name, the token as password; the name becomes the author of what they do). The queue
 * (open and in progress by default) oldest first with filters; each follow-up can be taken, noted and resolved with an outcome.
 * POSTs come only from this site (sameOriginOnly) and answer 303 back to the queue.
 */
export function followupPageRoutes(deps: { followups: FollowupService; views: Views; clock: Clock; publicUrl: string; token: string; previousToken?: string }): Router {
  const router = Router();
  // A signed-in admin or lead (a lead: their teams' follow-ups), or the admin credential.
  const tokenCheck = adminAuth(deps.token, deps.previousToken);
  router.use('/followups', htmlErrors, (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const access = sessionAccess(res);
    if (sentToSignIn(req, res, Boolean(access))) return;
    if (!access || req.get('authorization')) return void tokenCheck(req, res, next);
    if (access.kind !== 'all' && access.kind !== 'teams') throw new AppError(403, 'not_in_scope', 'Follow-ups are for leads and admins.');
    next();
  });
  const accessOf = (req: Request, res: Response): Access => (req.get('authorization') ? undefined : sessionAccess(res)) ?? { kind: 'all' };
  const teamsOf = (access: Access) => (access.kind === 'teams' ? access.teams : undefined);
  /** Who acts: the signed-in user, or the user name a browser sent with the admin token. */
  const authorOf = (req: Request, res: Response) => (req.get('authorization') ? leadOf(req) : ((res.locals.viewer as { name?: string; email?: string } | undefined)?.email ?? leadOf(req)));

  router.get('/followups', validateQuery(queueQuery, 'Check the filters.'), async (req, res) => {
    const q = validQuery(res, queueQuery);
    const teams = teamsOf(accessOf(req, res));
    if (q.team && teams && !teams.includes(q.team)) throw new AppError(403, 'not_in_scope', 'That team is not one of yours.');
    const page = await deps.followups.list({ status: q.status, team: q.team, agentId: q.agent, teams }, 200);
    const notes = await deps.followups.notesOf(page.items.map((f) => f.id));
    const now = deps.clock.now().getTime();
    const items = page.items.map((f) => ({ ...f, notes: notes.get(f.id) ?? [], waiting_hours: Math.floor((now - Date.parse(f.created_at!)) / 3_600_000), resolved: f.status === 'resolved' }));
    res.send(deps.views.page('followups', { title: 'Follow-ups', items, filters: q, statuses: ['unresolved', ...FOLLOWUP_STATUSES], outcomes: FOLLOWUP_OUTCOMES, more: Boolean(page.next), query: encodeURIComponent(req.originalUrl.split('?')[1] ?? ''), csrf: (res.locals.viewer as { csrf?: string } | undefined)?.csrf, signedIn: signedIn(res) }, 'report'));
  });

  router.post('/followups/:id', sameOriginOnly(deps.publicUrl), express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    if (!/^[1-9]\d{0,8}$/.test(String(req.params.id))) throw new AppError(404, 'not_found');
    const id = Number(req.params.id);
    const access = accessOf(req, res);
    const viewer = req.get('authorization') ? undefined : (res.locals.viewer as { csrf: string } | undefined);
    // A signed-in lead's form carries the session's CSRF token (Basic credentials are not sent by another site's form without a prompt).
    if (viewer && (req.body as { csrf?: unknown } | undefined)?.csrf !== viewer.csrf) throw new AppError(403, 'csrf', 'The form is stale: reload the page and try again.');
    const form = parseOr400(action, req.body ?? {}, 'invalid_change', 'Check the form.');
    const teams = teamsOf(access);
    if (teams) {
      const found = await deps.followups.get(id);
      if (!found || !found.team || !teams.includes(found.team)) throw new AppError(404, 'not_found');
    }
    const author = authorOf(req, res);
    const change: FollowupChange =
      form.action === 'take' ? { owner: author, author } : form.action === 'note' ? { note: form.note, author } : { outcome: form.outcome, author };
    await deps.followups.change(id, change);
    const back = typeof req.query.back === 'string' && /^[a-z_=&%0-9.-]+$/i.test(req.query.back) ? `?${req.query.back}` : '';
    res.redirect(303, `/followups${back}#f${id}`);
  });
  return router;
}
