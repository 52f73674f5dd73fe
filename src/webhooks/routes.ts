import express, { Router, type Request, type Response } from 'express';
import type { ScheduleOutcome } from '../surveys/types';
import { AppError } from '../shared/errors';
import { zodDetails } from '../shared/http';
import type { Clock } from '../shared/clock';
import type { SurveyService } from '../surveys/service';
import { ticketClosedSchema, ticketReopenedSchema, toTicketClosed } from './payload';
import { verifySignature } from './signature';

export const WEBHOOK_BODY_LIMIT = '100kb';

/** The raw body as JSON, or 400 invalid_json. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError(400, 'invalid_json', 'The body is not valid JSON.');
  }
}

/** How every ticket-closed endpoint answers: 202 scheduled, 200 duplicate or suppressed with its reason. */
export function sendScheduleOutcome(res: Response, outcome: ScheduleOutcome): void {
  if (outcome.status === 'scheduled') return void res.status(202).json({ survey_id: outcome.surveyId, status: 'scheduled' });
  if (outcome.status === 'duplicate') return void res.json({ survey_id: outcome.surveyId, status: 'duplicate' });
  res.json({ survey_id: outcome.surveyId, status: 'suppressed', reason: outcome.reason });
}

/** The generic helpdesk contract: signed JSON "ticket closed" and "ticket reopened" events. */
export function webhookRoutes(deps: { surveys: SurveyService; clock: Clock; secret: string }): Router {
  const router = Router();
  const rawBody = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });

  /** Checks media type and signature, then parses: 415, 401 and 400 in that order, before anything is read. */
  function signedJson(req: Request, now: Date): unknown {
    if (!req.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signed = verifySignature({
      secret: deps.secret,
      timestamp: req.get('x-closeloop-timestamp'),
      signature: req.get('x-closeloop-signature'),
      rawBody: body,
      now,
    });
    if (!signed) throw new AppError(401, 'invalid_signature');
    return parseJson(body);
  }

  router.post('/webhooks/ticket-closed', rawBody, async (req, res) => {
    const now = deps.clock.now();
    const payload = ticketClosedSchema.safeParse(signedJson(req, now));
    if (!payload.success) throw new AppError(400, 'invalid_payload', 'The payload does not match the contract.', zodDetails(payload.error));

    sendScheduleOutcome(res, await deps.surveys.scheduleSurvey(toTicketClosed(payload.data, 'generic', now), { requestId: res.locals.requestId }));
  });

  router.post('/webhooks/ticket-reopened', rawBody, async (req, res) => {
    const payload = ticketReopenedSchema.safeParse(signedJson(req, deps.clock.now()));
    if (!payload.success) throw new AppError(400, 'invalid_payload', 'The payload does not match the contract.', zodDetails(payload.error));
    res.json(await deps.surveys.cancelSurvey('generic', payload.data.ticket_id));
  });

  return router;
}
