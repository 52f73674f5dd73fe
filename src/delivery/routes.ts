import { Router } from 'express';
import { z } from 'zod';
import { validateQuery, validQuery } from '../shared/validation';
import type { Views } from '../shared/views';
import { previewEmail } from './service';
import { reportsAuth } from '../shared/auth';
import type { SurveyDefinitions } from '../surveys/definitions';
import { allowInlineStyles } from '../shared/security';

const previewQuery = z.object({
  locale: z.string().max(35).optional(),
  brand: z.string().max(128).optional(),
  variant: z.string().max(64).optional(),
  format: z.enum(['json', 'html']).optional(),
});

/** `GET /preview/:question_id`: the email exactly as a customer would get it, with dummy links (reports credential). */
export function previewRoutes(deps: { definitions: SurveyDefinitions; views: Views; publicUrl: string; mailFrom: string; token: string; previousToken?: string }): Router {
  const router = Router();
  const query = validateQuery(previewQuery, 'Check the preview parameters.');
  router.get('/preview/:questionId', reportsAuth(deps.token, deps.previousToken), allowInlineStyles, query, (req, res) => {
    const { locale, brand, variant, format } = validQuery(res, previewQuery);
    const body = previewEmail(deps, String(req.params.questionId), { locale, brand, variant });
    res.setHeader('Cache-Control', 'no-store');
    if ((format ?? (req.accepts(['json', 'html']) === 'html' ? 'html' : 'json')) === 'json') return void res.json(body);
    res.send(deps.views.page('preview', { title: `Preview: ${body.question_id}`, preview: body, requestedLocale: locale }, 'report'));
  });
  return router;
}
