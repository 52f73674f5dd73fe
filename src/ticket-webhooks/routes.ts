import express, { Router, type Request } from 'express';
import type { RequestKey } from '../surveys/receipts';
import { AppError } from '../shared/errors';
import { firstInJson, hasUnpairedSurrogate, parseOr400, roundedInteger } from '../shared/validation';
import type { Clock } from '../shared/clock';
import { ticketClosedSchema, ticketReopenedSchema, toTicketClosed } from './payload';
import { requestKey, sendAnswer, urlCheck } from './replay';
import { verifySignature } from '../shared/signature';
import type { TicketWebhookService } from './service';

export const WEBHOOK_BODY_LIMIT = '100kb';

/**
 * The raw body as JSON, or 400 invalid_json. 400 invalid_payload names the first value JSON.parse
 * could not give back as sent (shared/validation.ts), in any field, also those an adapter reads
 * without a schema: a string with an unpaired surrogate; with `numbersAreIds` (a helpdesk's body,
 * whose numeric ids become strings), an integer it rounded, which would make two ids one.
 */
export function parseJson(body: Buffer, numbersAreIds = false): unknown {
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError(400, 'invalid_json', 'The body is not valid JSON.');
  }
  const refuse = (path: string, message: string) => new AppError(400, 'invalid_payload', 'The payload does not match the contract.', [{ path, message }]);
  // Only a \uD800–\uDFFF escape puts a surrogate in parsed JSON (bytes that are not UTF-8 decode to U+FFFD).
  const lone = /\\u[dD][89a-fA-F]/.test(text) ? firstInJson(json, hasUnpairedSurrogate) : undefined;
  if (lone !== undefined) throw refuse(lone, 'must be Unicode text: an unpaired surrogate (\\uD800–\\uDFFF) is no character');
  // Only sixteen digits or more, or an exponent, can write an integer above 2^53 − 1.
  const rounded = numbersAreIds && /\d{16}|\d[eE]/.test(text) ? firstInJson(json, roundedInteger) : undefined;
  if (rounded !== undefined) throw refuse(rounded, 'a JSON number above 9007199254740991 (2^53 − 1) loses digits: send it as a string');
  return json;
}

/** The generic helpdesk contract: signed JSON "ticket closed" and "ticket reopened" events. */
export function webhookRoutes(deps: { tickets: TicketWebhookService; clock: Clock; secret: string; previousSecret?: string }): Router {
  const router = Router();
  const rawBody = express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT });

  /**
   * Checks media type and signature, then parses: 415, 401 and 400 in that order, before anything is read.
   * Both endpoints share one source for replays: a signed close sent again to the reopen endpoint is the same request.
   */
  function signedJson(req: Request, now: Date): { json: unknown; key: RequestKey } {
    if (!req.is('application/json')) throw new AppError(415, 'unsupported_media_type', 'Send Content-Type: application/json.');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const timestamp = req.get('x-closeloop-timestamp');
    const signature = req.get('x-closeloop-signature');
    // While WEBHOOK_SECRET_PREVIOUS is set (a rotation), either secret signs.
    const signed = [deps.secret, deps.previousSecret]
      .filter((secret): secret is string => Boolean(secret))
      .map((secret) => verifySignature({ secret, timestamp, signature, rawBody: body, now }))
      .some(Boolean);
    if (!signed) throw new AppError(401, 'invalid_signature');
    return { json: parseJson(body), key: requestKey('generic', body, { timestamp }) };
  }

  for (const endpoint of ['/webhooks/ticket-closed', '/webhooks/ticket-reopened']) router.get(endpoint, urlCheck(endpoint));

  router.post('/webhooks/ticket-closed', rawBody, async (req, res) => {
    const now = deps.clock.now();
    const { json, key } = signedJson(req, now);
    const payload = parseOr400(ticketClosedSchema, json, 'invalid_payload', 'The payload does not match the contract.');

    const ticket = toTicketClosed(payload, 'generic', now);
    sendAnswer(res, await deps.tickets.handle({ kind: 'closed', ticket }, key, res.locals.requestId));
  });

  router.post('/webhooks/ticket-reopened', rawBody, async (req, res) => {
    const { json, key } = signedJson(req, deps.clock.now());
    const payload = parseOr400(ticketReopenedSchema, json, 'invalid_payload', 'The payload does not match the contract.');
    sendAnswer(res, await deps.tickets.handle({ kind: 'reopened', source: 'generic', ticketId: payload.ticket_id }, key));
  });

  return router;
}
