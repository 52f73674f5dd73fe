import express, { Router, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { htmlErrors, sameOriginOnly } from '../shared/http';
import { parseOr400, TEXT } from '../shared/validation';
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
      .regex(TEXT, 'must not contain control characters other than line breaks and tabs')
      .optional(),
  })
  .refine((b) => b.score !== undefined || b.comment !== undefined, 'send a score, a comment, or both');

/** What the rating page sends when it posts by itself: how long it was visible, and whether a person touched it. */
const pageSignals = z.object({
  visible_ms: z.number().int().min(0).max(86_400_000).nullable().optional(),
  interacted: z.boolean().nullable().optional(),
});

/** The page's own POST: a score and its signals. */
const pagePost = z.object({ score: z.number().int().min(1).max(5), page: pageSignals });

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

  /** The survey as it stands: the question, or thanks with the counted (or waiting) score. */
  const showState = async (res: Response, token: string, survey: Survey) => {
    const { wording } = survey;
    const shown = survey.score ?? (await ratings.pendingScore(survey));
    if (shown === null) {
      res.send(views.page('rate', { ...frame(survey, definitions), title: wording.question, question: wording.question, action: base(token), scores: scoreList(survey) }));
      return;
    }
    res.send(
      views.page('thanks', {
        ...frame(survey, definitions),
        title: wording.thanks,
        thanks: wording.thanks,
        commentPrompt: wording.comment_prompt,
        current: { score: shown, label: wording.labels[shown as 1] },
        comment: survey.comment,
        canChange: ratings.canChange(survey),
        action: base(token),
        scores: scoreList(survey, shown),
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
    if (survey.score !== null) {
      // A rating counts already: opening a link again (a re-scan, a forwarded email) changes nothing; the page offers a deliberate change.
      await showState(res, token, survey);
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
    await showState(res, req.params.token, await ratings.openSurvey(req.params.token));
  });

  router.post(
    '/r/:token',
    sameOriginOnly(deps.publicUrl),
    // 2,000 characters of any script, percent-encoded (up to 12 bytes each for 4-byte characters), fit.
    express.urlencoded({ extended: false, limit: '64kb' }),
    express.json({ limit: '64kb' }),
    async (req, res) => {
      const token = String(req.params.token);
      if (req.is('application/json') && req.body && typeof req.body === 'object' && 'page' in req.body) {
        // Posted by the page itself, not by a person's act: it waits for the scanner rules.
        const { score, page } = parseOr400(pagePost, req.body, 'invalid_rating', 'Choose a rating from 1 to 5.');
        const held = await ratings.holdRating(token, score, { visibleMs: page.visible_ms ?? null, interacted: page.interacted ?? null });
        res.status(held.status === 'pending' ? 202 : 200).json(held);
        return;
      }
      // A fault in the comment gets its own message; the details name the field either way.
      const commentFault = !ratingBody.shape.comment.safeParse((req.body as { comment?: unknown } | undefined)?.comment).success;
      const message = commentFault ? 'Comments can be at most 2000 characters.' : 'Choose a rating from 1 to 5.';
      const saved = await ratings.recordRating(token, parseOr400(ratingBody, req.body ?? {}, 'invalid_rating', message));
      if (req.is('application/json')) {
        res.json({ status: 'recorded', score: saved.score, comment: saved.comment });
        return;
      }
      res.redirect(303, base(token));
    },
  );

  return router;
}
