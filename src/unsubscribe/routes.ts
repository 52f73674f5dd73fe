import express, { Router } from 'express';
import { AppError } from '../shared/errors';
import { htmlErrors } from '../shared/http';
import type { Views } from '../shared/views';
import type { UnsubscribeService } from './service';

/**
 * Unsubscribe links. GET only shows a page (mail scanners open links); POST acts: the
 * RFC 8058 one-click body `List-Unsubscribe=One-Click` from a mail client, or the page's
 * own form, which also lets the customer opt back in.
 */
export function unsubscribeRoutes(deps: { views: Views; unsubscribe: UnsubscribeService }): Router {
  const { views, unsubscribe } = deps;
  const router = Router();
  router.use('/u', htmlErrors, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  router.get('/u/:token', async (req, res) => {
    const link = await unsubscribe.linkOf(req.params.token);
    res.send(views.page('unsubscribe', { title: 'Survey emails', ...(await unsubscribe.pageOf(link)), action: `/u/${req.params.token}` }));
  });

  // RFC 8058 one-click POSTs SHOULD be multipart/form-data; a 2 kB raw read finds the field in either form.
  const multipart = express.raw({ type: 'multipart/form-data', limit: '2kb' });
  const oneClickPart = /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/;

  router.post('/u/:token', multipart, express.urlencoded({ extended: false, limit: '2kb' }), async (req, res) => {
    const token = String(req.params.token);
    const link = await unsubscribe.linkOf(token);
    const body = (Buffer.isBuffer(req.body) ? {} : (req.body ?? {})) as Record<string, string>;
    const oneClick = Buffer.isBuffer(req.body) ? oneClickPart.test(req.body.toString('utf8')) : body['List-Unsubscribe'] === 'One-Click';
    if (oneClick) {
      await unsubscribe.optOut(link);
      res.type('text/plain').send('Unsubscribed.');
      return;
    }
    if (body.action === 'unsubscribe') await unsubscribe.optOut(link);
    else if (body.action === 'resubscribe') await unsubscribe.optIn(link);
    else throw new AppError(400, 'invalid_request', 'Choose to unsubscribe or to receive survey emails again.');
    res.redirect(303, `/u/${token}`);
  });

  return router;
}
