import express, { Router, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { htmlErrors, sameOriginOnly, zodDetails } from '../shared/http';
import type { Views } from '../shared/views';
import { SCORES } from '../surveys/wording';
import type { Survey } from '../surveys/types';
import type { SurveyDefinitions } from '../surveys/definitions';
import { brandFor } from '../surveys/questions';
import { pageText } from '../surveys/page-text';
import type { RatingService } from './service';

const ratingBody = z
  .object({
    score: z.union([z.number(), z.string().regex(/^\d$/).transform(Number)]).pipe(z.number().int().min(1).max(5)).optional(),
    comment: z
      .string()
      .max(2000, 'must be at most 2000 characters')
      .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'must not contain control characters other than line breaks and tabs')
      .optional(),
  })
  .refine((b) => b.score !== undefined || b.comment !== undefined, 'send a score, a comment, or both');

const scoreParam = z.string().regex(/^[1-5]$/).transform(Number);

const scoreList = (survey: Survey, selected?: number | null) =>
  SCORES.map((score) => ({ score, label: survey.wording.labels[score], selected: score === selected }));

/** What every rating page shows around its content: the survey's language, words and brand. */
function frame(survey: Survey, definitions: SurveyDefinitions) {
  const brand = brandFor(definitions, survey.brand);
  return {
    lang: survey.wording.locale,
    t: pageText(survey.wording.locale),
    accent: brand.accent_color,
    logoUrl: brand.logo_url,
    logoAlt: brand.sender_name ?? survey.brand ?? '',
  };
}

/**
 * Public rating pages. A GET never records a rating (mail scanners open every link);
 * the page records with a POST once a person can actually see it.
 */
export function ratingRoutes(deps: { ratings: RatingService; views: Views; publicUrl: string; definitions: SurveyDefinitions }): Router {
  const { ratings, views, definitions } = deps;
  const router = Router();
  const base = (token: string) => `/r/${token}`;

  router.use('/r', htmlErrors, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  const showState = (res: Response, token: string, survey: Survey) => {
    const { wording } = survey;
    if (survey.score === null) {
      res.send(views.page('rate', { ...frame(survey, definitions), title: wording.question, question: wording.question, action: base(token), scores: scoreList(survey) }));
      return;
    }
    res.send(
      views.page('thanks', {
        ...frame(survey, definitions),
        title: wording.thanks,
        thanks: wording.thanks,
        commentPrompt: wording.comment_prompt,
        current: { score: survey.score, label: wording.labels[survey.score as 1] },
        comment: survey.comment,
        canChange: ratings.canChange(survey),
        action: base(token),
        scores: scoreList(survey, survey.score),
      }),
    );
  };

  router.get('/r/:token/check', async (req, res) => {
    await ratings.decoyHit(req.params.token);
    res.type('text/plain').send('OK');
  });

  router.get('/r/:token/:score', async (req, res) => {
    const score = scoreParam.safeParse(req.params.score);
    if (!score.success) throw new AppError(404, 'not_found');
    const { token } = req.params;
    // HEAD is a link check, not a look: it is answered but not counted as a view.
    const survey = req.method === 'HEAD' ? await ratings.openSurvey(token) : await ratings.viewScore(token, score.data);
    if (survey.score !== null && !ratings.canChange(survey)) {
      showState(res, token, survey); // the answer is final: nothing for the page to post
      return;
    }
    res.send(
      views.page('rate', {
        ...frame(survey, definitions),
        title: survey.wording.question,
        question: survey.wording.question,
        action: base(token),
        doneUrl: base(token),
        selected: { score: score.data, label: survey.wording.labels[score.data as 1] },
        scores: scoreList(survey, score.data),
      }),
    );
  });

  router.get('/r/:token', async (req, res) => {
    showState(res, req.params.token, await ratings.openSurvey(req.params.token));
  });

  router.post(
    '/r/:token',
    sameOriginOnly(deps.publicUrl),
    // 2,000 characters of any script, percent-encoded (up to 12 bytes each for 4-byte characters), fit.
    express.urlencoded({ extended: false, limit: '64kb' }),
    express.json({ limit: '64kb' }),
    async (req, res) => {
      const token = String(req.params.token);
      const body = ratingBody.safeParse(req.body ?? {});
      if (!body.success) {
        const commentFault = body.error.issues.some((i) => i.path[0] === 'comment');
        const message = commentFault ? 'Comments can be at most 2000 characters.' : 'Choose a rating from 1 to 5.';
        throw new AppError(400, 'invalid_rating', message, zodDetails(body.error));
      }
      const saved = await ratings.recordRating(token, body.data);
      if (req.is('application/json')) {
        res.json({ status: 'recorded', score: saved.score, comment: saved.comment });
        return;
      }
      res.redirect(303, base(token));
    },
  );

  return router;
}
