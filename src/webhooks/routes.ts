import express, { Router } from 'express';
import { AppError } from '../shared/errors';
import { zodDetails } from '../shared/http';
import type { Clock } from '../shared/clock';
import type { SurveyService } from '../surveys/service';
import { ticketClosedSchema, toTicketClosed } from './payload';
import { verifySignature } from './signature';

export const WEBHOOK_BODY_LIMIT = '100kb';

/** The generic helpdesk contract: a signed JSON "ticket closed" event. */
export function webhookRoutes(deps: { surveys: SurveyService; clock: Clock; secret: string }): Router {
  const router = Router();

  router.post('/webhooks/ticket-closed', express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
    if (!req.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const now = deps.clock.now();
    const signed = verifySignature({
      secret: deps.secret,
      timestamp: req.get('x-closeloop-timestamp'),
      signature: req.get('x-closeloop-signature'),
      rawBody,
      now,
    });
    if (!signed) throw new AppError(401, 'invalid_signature');

    let json: unknown;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new AppError(400, 'invalid_json', 'The body is not valid JSON.');
    }
    const payload = ticketClosedSchema.safeParse(json);
    if (!payload.success) throw new AppError(400, 'invalid_payload', 'The payload does not match the contract.', zodDetails(payload.error));

    const outcome = await deps.surveys.scheduleSurvey(toTicketClosed(payload.data, 'generic', now));
    switch (outcome.status) {
      case 'scheduled':
        res.status(202).json({ survey_id: outcome.surveyId, status: 'scheduled' });
        return;
      case 'duplicate':
        res.status(200).json({ survey_id: outcome.surveyId, status: 'duplicate' });
        return;
      case 'suppressed':
        res.status(200).json({ survey_id: outcome.surveyId, status: 'suppressed', reason: outcome.reason });
    }
  });

  return router;
}
