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
 * - Agent candidates: conversation_parts[] {part_type comment|close|note|assignment|…, created_at, author{type admin|
 *   user|bot|…, id, name, email, from_ai_agent}} (https://developers.intercom.com/docs/references/rest-api/api.intercom.io/Models/conversation_part/
 *   and the part types of https://developers.intercom.com/docs/references/1.0/rest-api/conversations/conversation-part-model),
 *   statistics.last_closed_by_id ("The last admin who closed the conversation",
 *   https://developers.intercom.com/docs/references/2.15/rest-api/api.intercom.io/models/conversation_statistics, also in
 *   the official intercom-node ConversationStatistics type), admin_assignee_id.
 * - Apps pinned to API 1.x receive item.user{name,email} and item.assignee{type,id,name,email}; those are read too.
 */
import { safeEqual } from '../../shared/signature';
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
  'closed_by.id': `${ITEM}.statistics.last_closed_by_id`,
  'closed_by.name': `${ITEM}.conversation_parts`,
  'closed_by.email': `${ITEM}.conversation_parts`,
  'last_replied_by.id': `${ITEM}.conversation_parts`,
  'last_replied_by.name': `${ITEM}.conversation_parts`,
  'last_replied_by.email': `${ITEM}.conversation_parts`,
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

/** A teammate (not a contact, bot or Fin): parts written by the AI agent are nobody to credit. */
const isAdmin = (author: Json) => author.type === 'admin' && text(author.id) !== undefined && author.from_ai_agent !== true;

/**
 * The conversation's parts in the payload, oldest first, with the admin-started message of a 1.x conversation
 * (conversation_message) as its first part: an admin's message to the customer, like a reply.
 */
function partsOf(item: Json): Json[] {
  const listed = obj(item.conversation_parts).conversation_parts;
  const parts = (Array.isArray(listed) ? listed : []).map(obj);
  const opening = obj(item.conversation_message);
  const first = isAdmin(obj(opening.author)) ? [{ part_type: 'comment', created_at: item.created_at, author: opening.author }] : [];
  const at = (p: Json) => (typeof p.created_at === 'number' ? p.created_at : 0);
  return [...first, ...parts].map((p, i) => ({ p, i })).sort((a, b) => at(a.p) - at(b.p) || a.i - b.i).map(({ p }) => p);
}

/** The author of the newest part a teammate wrote that passes `test`. */
function newestAdmin(parts: Json[], test: (part: Json) => boolean): Json | undefined {
  const part = parts.filter((p) => test(p) && isAdmin(obj(p.author))).at(-1);
  return part && obj(part.author);
}

/** An admin by id, named (2.x gives ids only) from the 1.x assignee or from any part that admin wrote. */
function adminRef(id: string | undefined, item: Json, parts: Json[]) {
  if (!id) return undefined;
  const known = [obj(item.assignee), ...parts.map((p) => obj(p.author))].filter((a) => a.type === 'admin' && text(a.id) === id);
  return { id, name: known.map((a) => text(a.name)).find(Boolean), email: known.map((a) => text(a.email)).find(Boolean) };
}

/**
 * The three candidates: who last replied (the newest admin comment, or a close with a message, which the customer
 * sees too), who closed (the newest close part's admin, or statistics.last_closed_by_id when the payload has no
 * close part) and the assignee (admin_assignee_id, or the 1.x assignee object).
 */
function candidatesOf(item: Json) {
  const parts = partsOf(item);
  const replied = newestAdmin(parts, (p) => p.part_type === 'comment' || (p.part_type === 'close' && text(p.body) !== undefined));
  // The newest close decides: closed by Fin or a workflow is closed by nobody to credit. Without a close part, statistics.
  const close = parts.filter((p) => p.part_type === 'close').at(-1);
  const closerId = close ? (isAdmin(obj(close.author)) ? text(obj(close.author).id) : undefined) : text(obj(item.statistics).last_closed_by_id);
  const legacy = obj(item.assignee);
  const assigneeId = legacy.type === 'admin' ? text(legacy.id) : text(item.admin_assignee_id);
  return {
    last_replied_by: adminRef(text(replied?.id), item, parts),
    closed_by: adminRef(closerId, item, parts),
    agent: adminRef(assigneeId, item, parts),
  };
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
        ...candidatesOf(item),
        subject,
        tags: Array.isArray(tags) ? tags.map((t) => text(obj(t).name)).filter((t) => t !== undefined) : undefined,
      },
      now,
      FIELD_NAMES,
    );
    return { kind: 'closed', ticket };
  },
};
