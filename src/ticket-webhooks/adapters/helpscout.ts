/**
 * Help Scout: the Webhooks app subscribed to "Conversation Status Updated" (convo.status).
 *
 * Sources:
 * - https://developer.helpscout.com/webhooks/ : event name in X-HelpScout-Event; X-HelpScout-Signature =
 *   base64(HMAC-SHA1(secret key, request body)); the body is the v2 Conversation object (v1 payloads are deprecated).
 * - https://developer.helpscout.com/mailbox-api/endpoints/conversations/get/ : the v2 Conversation object
 *   (id, status active|pending|closed|spam, subject, assignee{id,type,first,last,email}, closedAt,
 *   primaryCustomer{first,last,email}, tags[{id,color,tag}], mailboxId, closedBy (the closing user's id),
 *   closedByUser{id,type,first,last,email}).
 * - Threads, when the payload embeds them (_embedded.threads; Help Scout's own PHP SDK hydrates "embedded threads in
 *   incoming webhooks", https://github.com/helpscout/helpscout-api-php/releases/tag/3.7.0): the thread object of
 *   https://developer.helpscout.com/mailbox-api/endpoints/conversations/threads/list/ (type reply|message|customer|
 *   note|…, state, createdBy{id,type user|customer,first,last,email}, createdAt; listed newest first).
 * The v2 object carries only mailboxId, no mailbox name, so no team is mapped.
 */
import { safeEqual } from '../../shared/signature';
import { obj, text, fullName, toTicket, ticketIdOf, hmac, type Adapter, type Json } from './types';

const FIELD_NAMES = {
  ticket_id: 'id',
  closed_at: 'closedAt',
  'customer.email': 'primaryCustomer.email',
  'customer.name': 'primaryCustomer.first',
  'agent.id': 'assignee.id',
  'agent.name': 'assignee.first',
  'agent.email': 'assignee.email',
  'closed_by.id': 'closedBy',
  'closed_by.name': 'closedByUser.first',
  'closed_by.email': 'closedByUser.email',
  'last_replied_by.id': '_embedded.threads.createdBy.id',
  'last_replied_by.name': '_embedded.threads.createdBy.first',
  'last_replied_by.email': '_embedded.threads.createdBy.email',
  subject: 'subject',
  tags: 'tags',
};

/** A Help Scout user (not a customer); Help Scout names nobody with id 0 (e.g. a conversation closed by a workflow). */
function userOf(value: unknown) {
  const p = obj(value);
  const id = text(p.id);
  if ((p.type !== undefined && p.type !== 'user') || id === undefined || id === '0') return undefined;
  return { id, name: fullName(p.first, p.last), email: text(p.email) };
}

/** The user who last replied to the customer: the newest published "reply" or "message" thread a user wrote. */
function lastReplierOf(threads: Json[]) {
  const replies = threads.filter((t) => (t.type === 'reply' || t.type === 'message') && (t.state === undefined || t.state === 'published') && userOf(t.createdBy));
  const at = (t: Json) => Date.parse(text(t.createdAt) ?? '');
  // Listed newest first; createdAt decides where the payload has it.
  const newest = replies.reduce<Json | undefined>((best, t) => (best === undefined || at(t) > at(best) ? t : best), undefined);
  return newest && userOf(newest.createdBy);
}

/** Who closed it: closedByUser, else closedBy (an id in v2, a person in older payloads), named from another person of the payload. */
function closerOf(c: Json, known: ReturnType<typeof userOf>[]) {
  const user = userOf(c.closedByUser) ?? (typeof c.closedBy === 'object' ? userOf(c.closedBy) : userOf({ id: c.closedBy }));
  if (!user || user.name || user.email) return user;
  return known.find((k) => k?.id === user.id) ?? user;
}

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
    const embedded = obj(c._embedded).threads;
    const threads = Array.isArray(embedded) ? embedded.map(obj) : [];
    const assignee = userOf(c.assignee);
    const lastReplier = lastReplierOf(threads);
    const ticket = toTicket(
      'helpscout',
      {
        ticket_id: text(c.id),
        closed_at: text(c.closedAt),
        customer: { email: text(customer.email), name: fullName(customer.first, customer.last) },
        agent: assignee,
        closed_by: closerOf(c, [assignee, lastReplier, ...threads.map((t) => userOf(t.createdBy))]),
        last_replied_by: lastReplier,
        subject: text(c.subject),
        tags: Array.isArray(c.tags) ? c.tags.map((t) => text(obj(t).tag)).filter((t) => t !== undefined) : undefined,
      },
      now,
      FIELD_NAMES,
    );
    return { kind: 'closed', ticket };
  },
};
