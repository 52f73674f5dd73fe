/**
 * Intercom: a Developer Hub app's webhook subscribed to conversation.admin.closed and conversation.admin.opened.
 *
 * Sources:
 * - https://developers.intercom.com/intercom-api-reference/v1.0/reference/signed-notifications :
 *   X-Hub-Signature: sha1=<hex HMAC-SHA1 of the JSON body>. That page names the key hub_secret; Developer Hub apps
 *   sign with the app's client secret (Basic information page) - see docs/helpdesks.md.
 * - https://developers.intercom.com/docs/references/2.16/webhooks/webhook-models (and 1.0): topics, and the envelope
 *   {type: "notification_event", topic, created_at, data: {type: "notification_event_data", item: <conversation>}}.
 * - Conversation model, https://developers.intercom.com/docs/references/rest-api/api.intercom.io/Conversations/ :
 *   id, title, admin_assignee_id, source.author{type,name,email}, tags.tags[].name, statistics.last_close_at,
 *   conversation_parts[].author. 2.x contacts carry only ids and external ids, so the customer's email comes from
 *   source.author when a user or lead started the conversation.
 * - Apps pinned to API 1.x receive item.user{name,email} and item.assignee{type,id,name,email}; those are read too.
 */
import { safeEqual } from '../signature';
import { obj, text, fromUnixSeconds, toTicket, ticketIdOf, hmac, AdapterMappingError, type Adapter, type Json } from './types';

const ITEM = 'data.item';
const FIELD_NAMES = {
  ticket_id: `${ITEM}.id`,
  closed_at: `${ITEM}.statistics.last_close_at`,
  'customer.email': `${ITEM}.source.author.email`,
  'customer.name': `${ITEM}.source.author.name`,
  'agent.id': `${ITEM}.admin_assignee_id`,
  'agent.name': `${ITEM}.conversation_parts`,
  'agent.email': `${ITEM}.conversation_parts`,
  subject: `${ITEM}.title`,
  tags: `${ITEM}.tags.tags`,
};

/** The contact who started the conversation (2.x), else the 1.x user. */
function customerOf(item: Json) {
  const author = obj(obj(item.source).author);
  if (author.type === 'user' || author.type === 'lead') return { email: text(author.email), name: text(author.name) };
  const user = obj(item.user);
  return { email: text(user.email), name: text(user.name) };
}

/** The assigned admin: 2.x gives only admin_assignee_id, so name and email come from a part that admin wrote. */
function agentOf(item: Json) {
  const legacy = obj(item.assignee);
  if (legacy.type === 'admin' && text(legacy.id)) return { id: text(legacy.id), name: text(legacy.name), email: text(legacy.email) };
  const id = text(item.admin_assignee_id);
  if (!id) return undefined;
  const parts = obj(item.conversation_parts).conversation_parts;
  const author = (Array.isArray(parts) ? parts : []).map((p) => obj(obj(p).author)).find((a) => a.type === 'admin' && text(a.id) === id) ?? {};
  return { id, name: text(author.name), email: text(author.email) };
}

export const intercom: Adapter = {
  source: 'intercom',

  verify(req, secret) {
    const signature = req.header('x-hub-signature');
    if (!secret || !signature) return false;
    return safeEqual(signature, `sha1=${hmac('sha1', secret, req.rawBody, 'hex')}`);
  },

  map(body, now) {
    const n = obj(body);
    const topic = text(n.topic);
    if (topic === undefined) throw new AdapterMappingError('topic', 'topic is missing');
    const item = obj(obj(n.data).item);
    if (topic === 'conversation.admin.opened') return { kind: 'reopened', source: 'intercom', ticketId: ticketIdOf(item.id, `${ITEM}.id`) };
    if (topic !== 'conversation.admin.closed') return { kind: 'ignored', reason: `topic ${topic} is not a close` };

    const subject = text(item.title) ?? text(obj(item.source).subject) ?? text(obj(item.conversation_message).subject);
    const tags = obj(item.tags).tags;
    const ticket = toTicket(
      'intercom',
      {
        ticket_id: text(item.id),
        closed_at: fromUnixSeconds(obj(item.statistics).last_close_at) ?? fromUnixSeconds(n.created_at),
        customer: customerOf(item),
        agent: agentOf(item),
        subject,
        tags: Array.isArray(tags) ? tags.map((t) => text(obj(t).name)).filter((t) => t !== undefined) : undefined,
      },
      now,
      FIELD_NAMES,
    );
    return { kind: 'closed', ticket };
  },
};
