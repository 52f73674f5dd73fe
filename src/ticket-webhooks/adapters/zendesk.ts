/**
 * Zendesk: a webhook connected to triggers ("status changed to Solved" and "status changed from Solved").
 * The JSON body is ours, written with Zendesk placeholders (docs/helpdesks.md); it mirrors the generic contract
 * plus an "event" field, so error names are the contract's own ("customer.email").
 *
 * Sources:
 * - Signature: https://developer.zendesk.com/documentation/webhooks/verifying/
 *   X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, TIMESTAMP + BODY)), timestamp in
 *   X-Zendesk-Webhook-Signature-Timestamp, ISO 8601 (https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request
 *   shows "x-zendesk-webhook-signature-timestamp: 2021-03-25T05:09:27Z"), signed as the header's text.
 * - Placeholders: https://support.zendesk.com/hc/en-us/articles/4408886858138-Zendesk-placeholders-reference
 *   ({{ticket.tags}} renders space-separated; a missing value renders as ""). Agent candidates: the assignee
 *   ({{ticket.assignee.id}}, .name, .email) and current_user, "the user currently updating the ticket (an end user,
 *   agent, or Zendesk as the system user)": in the "changed to Solved" trigger, whoever solved it, with
 *   {{current_user.role}} "Admin, Agent, or End user". Comment placeholders document only comment.author.name, so
 *   no last replier is read unless the body sends one (last_replied_by).
 * - Event-subscription webhooks ({"type": "zen:event-type:…", "detail": {ids}}) are another kind of webhook:
 *   https://developer.zendesk.com/api-reference/webhooks/event-types/webhook-event-types/ ; they carry no
 *   requester email, so they are answered 400 naming the fix.
 */
import { MAX_SKEW_SECONDS, safeEqual } from '../../shared/signature';
import { obj, text, tagList, languageTag, toTicket, ticketIdOf, hmac, agentDraft, AdapterMappingError, type Adapter } from './types';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** ISO 8601 as Zendesk sends it (with or without seconds, fractions or an offset); Unix seconds accepted too. */
function timestampMillis(value: string): number | undefined {
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  return ISO_8601.test(value) ? Date.parse(value) : undefined;
}

const eventSubscription = (type: string) =>
  `This is a Zendesk event-subscription webhook (${type}), which carries ids only, no requester email. Use a webhook ` +
  'connected to a trigger or automation instead ("Trigger or automation" when creating it) with the JSON body from ' +
  'docs/helpdesks.md, section Zendesk.';

/**
 * {{current_user}} in the solve trigger, when it is an agent: an end user who solved their own request (or the
 * requester's own address) is nobody to credit, and the rule falls through to the next candidate.
 */
function agentCloser(value: unknown, customerEmail: unknown) {
  const closer = agentDraft(value);
  const role = text(obj(value).role)?.toLowerCase().replace(/[^a-z]/g, '');
  if (!closer || role === 'enduser') return undefined;
  const email = text(closer.email)?.toLowerCase();
  return email !== undefined && email === text(customerEmail)?.toLowerCase() ? undefined : closer;
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
    const type = text(b.type);
    if (type?.startsWith('zen:event-type:')) throw new AdapterMappingError('type', eventSubscription(type.slice(0, 100)));
    const event = text(b.event);
    if (event === undefined) throw new AdapterMappingError('event', 'event is missing (expected "solved" or "reopened")');
    if (event === 'reopened') return { kind: 'reopened', source: 'zendesk', ticketId: ticketIdOf(b.ticket_id, 'ticket_id') };
    if (event !== 'solved' && event !== 'closed') return { kind: 'ignored', reason: `event ${event} is not a close` };

    const customer = obj(b.customer);
    const ticket = toTicket(
      'zendesk',
      {
        ticket_id: text(b.ticket_id),
        closed_at: text(b.closed_at),
        customer: { email: text(customer.email), name: text(customer.name) },
        // An unassigned ticket renders {{ticket.assignee.id}} as "".
        agent: agentDraft(b.agent),
        closed_by: agentCloser(b.closed_by, customer.email),
        last_replied_by: agentDraft(b.last_replied_by),
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
