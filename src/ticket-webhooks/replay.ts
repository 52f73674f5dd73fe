import crypto from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Receipted, RequestKey } from '../surveys/receipts';

/** The longest helpdesk event id taken as one; anything else is not an id we know. */
const EVENT_ID = /^[\x21-\x7e]{1,200}$/;

const sha256 = (...parts: Array<string | Buffer>) => {
  const hash = crypto.createHash('sha256');
  parts.forEach((part, i) => hash.update(i ? '\u0000' : '').update(part));
  return hash.digest('hex');
};

/**
 * What makes a request the same one again (surveys/receipts.ts), from what it authenticates:
 * - `digest` covers the bytes the credential covers: the signed timestamp and the body where the
 *   signature includes a timestamp (generic, Zendesk), else the body. A replay must bring those very
 *   bytes or fail its credential; two real events differ in them (another timestamp, another payload).
 *   Unsigned headers are left out on purpose: changing one does not make a replay new.
 * - `eventKey` covers the helpdesk's own id for the event, where it sends one, so that a redelivery
 *   whose body differs a little (Intercom counts delivery_attempts in it) is still the same event.
 *   An id outside the signature (`eventIdSigned: false`) counts only together with the same body.
 */
export function requestKey(
  source: string,
  rawBody: Buffer,
  signed: { timestamp?: string; eventId?: unknown; eventIdSigned?: boolean } = {},
): RequestKey {
  const { timestamp, eventId, eventIdSigned } = signed;
  const id = typeof eventId === 'string' && EVENT_ID.test(eventId) ? eventId : undefined;
  return {
    source,
    digest: timestamp === undefined ? sha256(source, rawBody) : sha256(source, timestamp, rawBody),
    eventKey: id === undefined ? null : eventIdSigned ? sha256(source, 'event', id) : sha256(source, 'event', id, rawBody),
  };
}

/** Sends a request's answer; its body and whether it is a replay are left for the webhook metrics (closeloop_webhooks_total, metrics.ts). */
export function sendAnswer(res: Response, answer: Receipted): void {
  res.locals.replayed = answer.replayed;
  res.locals.answerBody = answer.body;
  res.status(answer.status).json(answer.body);
}

/**
 * GET and HEAD of a webhook endpoint: helpdesks check a URL before they save it (Intercom with a
 * HEAD request). 200 and a body that says only that the endpoint exists and takes POSTs; nothing is
 * read or stored, and the answer is the same whether or not that adapter's secret is set.
 */
export const urlCheck =
  (endpoint: string): RequestHandler =>
  (_req, res) =>
    void res.json({ endpoint, accepts: 'POST' });
