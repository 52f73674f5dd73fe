import express, { Router, type Response } from 'express';
import { AppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import type { SurveyService } from '../surveys/service';
import type { RequestKey } from '../surveys/receipts';
import { AdapterMappingError, adapters, type Adapter, type InboundRequest } from './adapters';
import { cancelAnswer, parseJson, scheduleAnswer, WEBHOOK_BODY_LIMIT } from './routes';
import { requestKey, sendAnswer, urlCheck } from './replay';

export type HelpdeskSecrets = Readonly<Partial<Record<Adapter['source'], string>>>;

/**
 * Each helpdesk's request, as replays are told apart (webhooks/replay.ts, docs/helpdesks.md "Replays"):
 * Zendesk signs its timestamp with the body and names each invocation in a header outside the
 * signature; Intercom names each notification by the `id` inside its signed body; Help Scout and
 * Freshdesk send neither, so their body alone is the request.
 */
function replayKey(source: Adapter['source'], inbound: InboundRequest, json: unknown): RequestKey {
  if (source === 'zendesk') {
    const timestamp = inbound.header('x-zendesk-webhook-signature-timestamp');
    return requestKey(source, inbound.rawBody, { timestamp, eventId: inbound.header('x-zendesk-webhook-invocation-id'), eventIdSigned: false });
  }
  if (source === 'intercom') {
    const notification = json !== null && typeof json === 'object' ? (json as { id?: unknown }) : {};
    return requestKey(source, inbound.rawBody, { eventId: notification.id, eventIdSigned: true });
  }
  return requestKey(source, inbound.rawBody);
}

/**
 * POST /webhooks/zendesk, /helpscout, /freshdesk, /intercom: each helpdesk's own authentication
 * and payload, mapped onto the generic contract. A close schedules a survey, a reopen cancels an
 * unsent one, any other event answers 200 ignored; each once per request (a replay gets the first
 * answer). An adapter without its secret is switched off (404); GET and HEAD answer 200 regardless.
 */
export function adapterRoutes(deps: { surveys: SurveyService; clock: Clock; secrets: HelpdeskSecrets }): Router {
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
      const json = parseJson(inbound.rawBody);
      let result;
      try {
        result = adapter.map(json, now, inbound);
      } catch (err) {
        if (!(err instanceof AdapterMappingError)) throw err;
        throw new AppError(400, 'invalid_payload', err.message, [{ path: err.field, message: err.message }]);
      }
      await answer(res, result, replayKey(adapter.source, inbound, json));
    });
  }

  async function answer(res: Response, result: ReturnType<Adapter['map']>, key: RequestKey) {
    const { surveys } = deps;
    if (result.kind === 'ignored') return sendAnswer(res, await surveys.ignoreOnce(key, { status: 200, body: { status: 'ignored', reason: result.reason } }));
    if (result.kind === 'reopened') return sendAnswer(res, await surveys.cancelSurveyOnce(result.source, result.ticketId, { key, answer: cancelAnswer }));
    sendAnswer(res, await surveys.scheduleSurveyOnce(result.ticket, { key, answer: scheduleAnswer }, { requestId: res.locals.requestId }));
  }

  return router;
}
