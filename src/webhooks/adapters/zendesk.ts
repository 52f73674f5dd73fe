/**
 * Zendesk: a webhook connected to triggers ("status changed to Solved" and "status changed from Solved").
 * The JSON body is ours, written with Zendesk placeholders (docs/helpdesks.md); it mirrors the generic contract
 * plus an "event" field, so error names are the contract's own ("customer.email").
 *
 * Sources:
 * - Signature: https://developer.zendesk.com/documentation/webhooks/verifying/
 *   X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, TIMESTAMP + BODY)), timestamp in
 *   X-Zendesk-Webhook-Signature-Timestamp (sent as ISO 8601, e.g. 2021-03-18T19:25:00Z).
 * - Placeholders: https://support.zendesk.com/hc/en-us/articles/4408886858138-Zendesk-placeholders-reference
 *   ({{ticket.tags}} renders space-separated; a missing value renders as "").
 */
import { MAX_SKEW_SECONDS, safeEqual } from '../signature';
import { obj, text, tagList, languageTag, toTicket, ticketIdOf, hmac, AdapterMappingError, type Adapter } from './types';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Zendesk documents the header's role, not its format: ISO 8601 in practice; Unix seconds accepted too. */
function timestampMillis(value: string): number | undefined {
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  return ISO_8601.test(value) ? Date.parse(value) : undefined;
}

export const zendesk: Adapter = {
  source: 'zendesk',

  verify(req, secret, now) {
    const signature = req.header('x-zendesk-webhook-signature');
    const timestamp = req.header('x-zendesk-webhook-signature-timestamp');
    if (!secret || !signature || !timestamp) return false;
    const at = timestampMillis(timestamp);
    if (at === undefined || Number.isNaN(at) || Math.abs(now.getTime() - at) > MAX_SKEW_SECONDS * 1000) return false;
    return safeEqual(signature, hmac('sha256', secret, req.rawBody, 'base64', timestamp));
  },

  map(body, now) {
    const b = obj(body);
    const event = text(b.event);
    if (event === undefined) throw new AdapterMappingError('event', 'event is missing (expected "solved" or "reopened")');
    if (event === 'reopened') return { kind: 'reopened', source: 'zendesk', ticketId: ticketIdOf(b.ticket_id, 'ticket_id') };
    if (event !== 'solved' && event !== 'closed') return { kind: 'ignored', reason: `event ${event} is not a close` };

    const customer = obj(b.customer);
    const agent = obj(b.agent);
    const ticket = toTicket(
      'zendesk',
      {
        ticket_id: text(b.ticket_id),
        closed_at: text(b.closed_at),
        customer: { email: text(customer.email), name: text(customer.name) },
        // An unassigned ticket renders {{ticket.assignee.id}} as "".
        agent: text(agent.id) ? { id: text(agent.id), name: text(agent.name), email: text(agent.email) } : undefined,
        team: text(b.team),
        subject: text(b.subject),
        tags: tagList(b.tags, /\s+/),
        locale: languageTag(b.locale),
        brand: text(b.brand),
      },
      now,
    );
    return { kind: 'closed', ticket };
  },
};
