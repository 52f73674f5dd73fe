import express, { Router } from 'express';
import { AppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import { AdapterMappingError, adapters, type Adapter } from './adapters';
import { parseJson, WEBHOOK_BODY_LIMIT } from './routes';
import { sendAnswer, urlCheck } from './replay';
import { replayKey, type TicketWebhookService } from './service';

export type HelpdeskSecrets = Readonly<Partial<Record<Adapter['source'], string>>>;

/**
 * POST /webhooks/zendesk, /helpscout, /freshdesk, /intercom: each helpdesk's own authentication
 * and payload, mapped onto the generic contract. A close schedules a survey, a reopen cancels an
 * unsent one, any other event answers 200 ignored; each once per request (a replay gets the first
 * answer). An adapter without its secret is switched off (404); GET and HEAD answer 200 regardless.
 */
export function adapterRoutes(deps: { tickets: TicketWebhookService; clock: Clock; secrets: HelpdeskSecrets }): Router {
  const router = Router();
  for (const adapter of Object.values(adapters)) {
    router.get(`/webhooks/${adapter.source}`, urlCheck(`/webhooks/${adapter.source}`));
    router.post(`/webhooks/${adapter.source}`, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
      const secret = deps.secrets[adapter.source];
      if (!secret) throw new AppError(404, 'not_found', `The ${adapter.source} adapter is not configured on this server.`);
      if (!req.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
      const now = deps.clock.now();
      const inbound = { rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), header: (name: string) => req.get(name) };
      if (!adapter.verify(inbound, secret, now)) throw new AppError(401, 'invalid_signature');
      const json = parseJson(inbound.rawBody, true);
      let result;
      try {
        result = adapter.map(json, now, inbound);
      } catch (err) {
        if (!(err instanceof AdapterMappingError)) throw err;
        throw new AppError(400, 'invalid_payload', err.message, [{ path: err.field, message: err.message }]);
      }
      sendAnswer(res, await deps.tickets.handle(result, replayKey(adapter.source, inbound, json), res.locals.requestId));
    });
  }

  return router;
}
