import express, { Router } from 'express';
import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { AppError } from '../shared/errors';
import { htmlErrors } from '../shared/http';
import { maskEmail } from '../shared/logger';
import type { Views } from '../shared/views';
import { hashToken, looksLikeToken } from '../surveys/tokens';
import type { SurveyService } from '../surveys/service';
import { ERASED_EMAIL } from '../surveys/state';
import * as repo from './repository';

/**
 * Unsubscribe links. GET only shows a page (mail scanners open links); POST acts: the
 * RFC 8058 one-click body `List-Unsubscribe=One-Click` from a mail client, or the page's
 * own form, which also lets the customer opt back in.
 */
export function unsubscribeRoutes(deps: { db: Db; clock: Clock; views: Views; surveys: SurveyService }): Router {
  const { db, views } = deps;
  const router = Router();
  router.use('/u', htmlErrors, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  const linkOf = async (token: string) => {
    const link = looksLikeToken(token) ? await repo.linkForToken(db, hashToken(token)) : undefined;
    if (!link) throw new AppError(404, 'not_found');
    return link;
  };

  /** The page names the address masked, from the survey whose email carried the link, while that survey still holds one. */
  const page = async (token: string, link: repo.UnsubscribeLink) => {
    const address = link.surveyId ? (await deps.surveys.getSurvey(link.surveyId))?.customerEmail : undefined;
    const email = address && address !== ERASED_EMAIL ? maskEmail(address) : undefined;
    return views.page('unsubscribe', { title: 'Survey emails', email, optedOut: await repo.isOptedOut(db, link.emailHash), action: `/u/${token}` });
  };

  router.get('/u/:token', async (req, res) => {
    const link = await linkOf(req.params.token);
    res.send(await page(req.params.token, link));
  });

  // RFC 8058 one-click POSTs SHOULD be multipart/form-data; a 2 kB raw read finds the field in either form.
  const multipart = express.raw({ type: 'multipart/form-data', limit: '2kb' });
  const oneClickPart = /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/;

  router.post('/u/:token', multipart, express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const token = String(req.params.token);
    const { emailHash } = await linkOf(token);
    const body = (Buffer.isBuffer(req.body) ? {} : (req.body ?? {})) as Record<string, string>;
    const oneClick = Buffer.isBuffer(req.body) ? oneClickPart.test(req.body.toString('utf8')) : body['List-Unsubscribe'] === 'One-Click';
    if (oneClick) {
      await repo.optOut(db, emailHash, deps.clock.now());
      res.type('text/plain').send('Unsubscribed.');
      return;
    }
    if (body.action === 'unsubscribe') await repo.optOut(db, emailHash, deps.clock.now());
    else if (body.action === 'resubscribe') await repo.optIn(db, emailHash);
    else throw new AppError(400, 'invalid_request', 'Choose to unsubscribe or to receive survey emails again.');
    res.redirect(303, `/u/${token}`);
  });

  return router;
}
