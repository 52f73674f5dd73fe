import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { validateQuery, validQuery } from '../shared/validation';
import type { Views } from '../shared/views';
import { renderSurveyEmail, senderFor } from './render';
import { reportsAuth } from '../shared/auth';
import type { SurveyDefinitions } from '../surveys/definitions';
import { brandFor, findQuestion, wordingFor } from '../surveys/questions';
import { allowInlineStyles } from '../shared/security';

const previewQuery = z.object({
  locale: z.string().max(35).optional(),
  brand: z.string().max(128).optional(),
  variant: z.string().max(64).optional(),
  format: z.enum(['json', 'html']).optional(),
});

/** A token-shaped placeholder: preview links lead nowhere. */
const DUMMY_TOKEN = 'PREVIEW-PREVIEW-PREVIEW-PREVIEW-PREVIEW-PREV';

/** `GET /preview/:question_id`: the email exactly as a customer would get it, with dummy links (reports credential). */
export function previewRoutes(deps: { definitions: SurveyDefinitions; views: Views; publicUrl: string; mailFrom: string; token: string; previousToken?: string }): Router {
  const router = Router();
  const query = validateQuery(previewQuery, 'Check the preview parameters.');
  router.get('/preview/:questionId', reportsAuth(deps.token, deps.previousToken), allowInlineStyles, query, (req, res) => {
    const { locale, brand, variant, format } = validQuery(res, previewQuery);
    const question = findQuestion(deps.definitions, String(req.params.questionId));
    if (!question) throw new AppError(404, 'not_found', 'No question with this id in the survey definitions.');
    const variants = question.variants?.map((v) => v.id) ?? [];
    if (variant !== undefined && !variants.includes(variant)) {
      throw new AppError(400, 'invalid_query', `This question has ${variants.length ? `variants ${variants.join(', ')}` : 'no variants'}.`, [{ path: 'variant', message: 'is not a variant of this question' }]);
    }
    const wording = wordingFor(deps.definitions, question.id, variant ?? variants[0] ?? null, locale);
    const brandStyle = brandFor(deps.definitions, brand);
    const survey = { wording, brand: brand ?? null, customerName: 'Ann Example', subject: 'Refund for order 42' };
    const email = renderSurveyEmail(deps.views, survey, DUMMY_TOKEN, deps.publicUrl, brandStyle);
    const body = { question_id: question.id, variant: variant ?? variants[0] ?? null, locale: wording.locale, from: senderFor(brandStyle, deps.mailFrom), ...email };
    res.setHeader('Cache-Control', 'no-store');
    if ((format ?? (req.accepts(['json', 'html']) === 'html' ? 'html' : 'json')) === 'json') return void res.json(body);
    res.send(deps.views.page('preview', { title: `Preview: ${question.id}`, preview: body, requestedLocale: locale }, 'report'));
  });
  return router;
}
