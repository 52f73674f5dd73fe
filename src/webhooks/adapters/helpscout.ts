/**
 * Help Scout: the Webhooks app subscribed to "Conversation Status Updated" (convo.status).
 *
 * Sources:
 * - https://developer.helpscout.com/webhooks/ : event name in X-HelpScout-Event; X-HelpScout-Signature =
 *   base64(HMAC-SHA1(secret key, request body)); the body is the v2 Conversation object (v1 payloads are deprecated).
 * - https://developer.helpscout.com/mailbox-api/endpoints/conversations/get/ : the v2 Conversation object
 *   (id, status active|pending|closed|spam, subject, assignee{id,type,first,last,email}, closedAt,
 *   primaryCustomer{first,last,email}, tags[{id,color,tag}], mailboxId).
 * The v2 object carries only mailboxId, no mailbox name, so no team is mapped.
 */
import { safeEqual } from '../signature';
import { obj, text, fullName, toTicket, ticketIdOf, hmac, type Adapter } from './types';

const FIELD_NAMES = {
  ticket_id: 'id',
  closed_at: 'closedAt',
  'customer.email': 'primaryCustomer.email',
  'customer.name': 'primaryCustomer.first',
  'agent.id': 'assignee.id',
  'agent.name': 'assignee.first',
  'agent.email': 'assignee.email',
  subject: 'subject',
  tags: 'tags',
};

export const helpscout: Adapter = {
  source: 'helpscout',

  verify(req, secret) {
    const signature = req.header('x-helpscout-signature');
    if (!secret || !signature) return false;
    return safeEqual(signature, hmac('sha1', secret, req.rawBody, 'base64'));
  },

  map(body, now, req) {
    const event = req?.header('x-helpscout-event');
    if (event !== undefined && event !== 'convo.status') return { kind: 'ignored', reason: `event ${event} is not a status change` };

    const c = obj(body);
    const status = text(c.status);
    if (status === undefined) return { kind: 'ignored', reason: 'no conversation status' };
    // Help Scout's "open" states: a conversation leaving "closed" for one of them is a reopen.
    if (status === 'active' || status === 'pending') return { kind: 'reopened', source: 'helpscout', ticketId: ticketIdOf(c.id, 'id') };
    if (status !== 'closed') return { kind: 'ignored', reason: `status ${status} is not a close` };

    const customer = obj(c.primaryCustomer);
    const assignee = obj(c.assignee);
    const isUser = assignee.type === undefined || assignee.type === 'user';
    const ticket = toTicket(
      'helpscout',
      {
        ticket_id: text(c.id),
        closed_at: text(c.closedAt),
        customer: { email: text(customer.email), name: fullName(customer.first, customer.last) },
        agent: isUser && text(assignee.id) ? { id: text(assignee.id), name: fullName(assignee.first, assignee.last), email: text(assignee.email) } : undefined,
        subject: text(c.subject),
        tags: Array.isArray(c.tags) ? c.tags.map((t) => text(obj(t).tag)).filter((t) => t !== undefined) : undefined,
      },
      now,
      FIELD_NAMES,
    );
    return { kind: 'closed', ticket };
  },
};
