import { Router } from 'express';
import { z } from 'zod';
import { adminAuth } from '../shared/auth';
import { AppError } from '../shared/errors';
import { ONE_LINE, validateQuery, validQuery } from '../shared/validation';
import { supportedDayOrInstant } from '../shared/dates';
import { decodeCursor, encodeCursor } from './cursor';
import type { Cursor } from '../surveys/service';
import type { ApiService } from './service';
import { followupRoutes } from './followup-routes';

const STATUSES = ['scheduled', 'sent', 'failed', 'suppressed', 'cancelled'] as const;
/** A day (its midnight UTC) or a date-time with offset, in the supported calendar (shared/dates.ts). */
const instant = supportedDayOrInstant.transform((s) => new Date(s));

/** Ticket and agent ids are one line (the webhook contract): a control character can match nothing, and PostgreSQL refuses NUL. */
const id = z.string().max(128).regex(ONE_LINE, 'must not contain control characters');

const listQuery = z.object({
  ticket_id: id.optional(),
  status: z.enum(STATUSES).optional(),
  agent_id: id.optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const surveyCursor = (value: string): Cursor => {
  const { at, id } = decodeCursor(value, (v): v is string => typeof v === 'string');
  return { closedAt: at, id };
};

/** The operators' JSON API (ADMIN_TOKEN): look surveys up, work the follow-ups (erasure: privacy/routes.ts). */
export function apiRoutes(deps: { api: ApiService; token: string; previousToken?: string }): Router {
  const router = Router();
  router.use('/api', adminAuth(deps.token, deps.previousToken), (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(followupRoutes({ api: deps.api }));

  router.get('/api/surveys', validateQuery(listQuery, 'Check the query parameters.'), async (_req, res) => {
    const q = validQuery(res, listQuery);
    const page = await deps.api.listSurveys(
      { ticketId: q.ticket_id, status: q.status, agentId: q.agent_id, from: q.from, to: q.to },
      q.limit,
      q.cursor ? surveyCursor(q.cursor) : undefined,
    );
    res.json({ items: page.items, next_cursor: page.next && encodeCursor(page.next.closedAt, page.next.id) });
  });

  router.get('/api/surveys/:id', async (req, res) => {
    const surveyId = String(req.params.id);
    if (!id.safeParse(surveyId).success) throw new AppError(404, 'not_found');
    const survey = await deps.api.surveyDetail(surveyId);
    if (!survey) throw new AppError(404, 'not_found');
    res.json(survey);
  });

  return router;
}
