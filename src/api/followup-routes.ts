import express, { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../shared/errors';
import { oneLine, parseOr400, TEXT, validateQuery, validQuery } from '../shared/validation';
import { supportedDayOrInstant } from '../shared/dates';
import { decodeCursor, encodeCursor } from './cursor';
import { FOLLOWUP_OUTCOMES, FOLLOWUP_STATUSES } from '../followups/state';
import type { FollowupCursor } from '../followups/service';
import type { ApiService } from './service';

const instant = supportedDayOrInstant.transform((s) => new Date(s));

const listQuery = z.object({
  status: z.enum(FOLLOWUP_STATUSES).optional(),
  team: oneLine(128).optional(),
  agent: oneLine(128).optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** A lead's change: at least one of status, owner (null: nobody), outcome, note; `author` names the lead (default "admin"). */
const changeBody = z
  .object({
    status: z.enum(FOLLOWUP_STATUSES).optional(),
    owner: oneLine(200).nullable().optional(),
    outcome: z.enum(FOLLOWUP_OUTCOMES).optional(),
    note: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .regex(TEXT, 'must not contain control characters other than line breaks and tabs')
      .optional(),
    author: oneLine(200).default('admin'),
  })
  .strict()
  .refine((b) => b.status !== undefined || b.owner !== undefined || b.outcome !== undefined || b.note !== undefined, 'send status, owner, outcome or note');

/** Follow-up ids are 32-bit (PostgreSQL's integer): a larger number can name none, and must not reach the query. */
const MAX_ID = 2_147_483_647;
const isId = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= MAX_ID;

const followupCursor = (value: string): FollowupCursor => {
  const { at, id } = decodeCursor(value, isId);
  return { createdAt: at, id };
};

const followupId = (value: string) => {
  const id = /^[1-9]\d{0,9}$/.test(value) ? Number(value) : NaN;
  if (!isId(id)) throw new AppError(404, 'not_found');
  return id;
};

/** `/api/followups` (ADMIN_TOKEN, mounted behind apiRoutes' credential check): the queue, one follow-up, a lead's change. */
export function followupRoutes(deps: { api: ApiService }): Router {
  const router = Router();
  router.get('/api/followups', validateQuery(listQuery, 'Check the query parameters.'), async (_req, res) => {
    const q = validQuery(res, listQuery);
    const page = await deps.api.followups.list({ status: q.status, team: q.team, agentId: q.agent, from: q.from, to: q.to }, q.limit, q.cursor ? followupCursor(q.cursor) : undefined);
    res.json({ items: page.items, next_cursor: page.next && encodeCursor(page.next.createdAt, page.next.id) });
  });

  router.get('/api/followups/:id', async (req, res) => {
    const found = await deps.api.followupDetail(followupId(String(req.params.id)));
    if (!found) throw new AppError(404, 'not_found');
    res.json(found);
  });

  router.patch('/api/followups/:id', express.json({ limit: '16kb' }), async (req, res) => {
    const id = followupId(String(req.params.id));
    if (!req.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
    const change = parseOr400(changeBody, req.body, 'invalid_change', 'Check the change.');
    res.json(await deps.api.followups.change(id, change));
  });
  return router;
}
