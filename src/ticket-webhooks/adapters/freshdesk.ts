/**
 * Freshdesk: automation rules ("ticket updates") whose "Trigger webhook" action POSTs our JSON body (docs/helpdesks.md),
 * written with Freshdesk placeholders; it mirrors the generic contract plus an "event" field.
 * Freshdesk does not sign webhooks, so the request must carry the shared secret: a custom header
 * X-Closeloop-Token: <secret>, or the rule's "Requires authentication" with the secret as password (HTTP Basic).
 *
 * Sources:
 * - https://support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules
 *   (Trigger webhook: request type, URL, "Requires authentication", "Add custom headers", encoding JSON, content Advanced)
 * - Placeholders {{ticket.id}}, {{ticket.subject}}, {{ticket.requester.email}}, {{ticket.requester.name}},
 *   {{ticket.agent.name}}, {{ticket.agent.email}}, {{ticket.group.name}}, {{ticket.tags}}, {{ticket.portal_name}}:
 *   the rule editor's placeholder list (the support article shows it only as a screenshot; names cross-checked
 *   against Freshdesk's own placeholder helper in its early open-source code). No agent-id placeholder is listed,
 *   so the agent's email doubles as the agent id. {{ticket.agent.*}} is the ticket's agent (the assignee), the only
 *   agent candidate the placeholders offer: none names who resolved the ticket or who last replied.
 */
import { basicPassword, secretEquals } from '../../shared/auth';
import { obj, text, tagList, toTicket, ticketIdOf, agentDraft, AdapterMappingError, type Adapter } from './types';

export const freshdesk: Adapter = {
  source: 'freshdesk',

  verify(req, secret) {
    if (!secret) return false;
    const token = req.header('x-closeloop-token');
    if (token !== undefined) return secretEquals(token, secret);
    return secretEquals(basicPassword(req.header('authorization')), secret);
  },

  map(body, now) {
    const b = obj(body);
    const event = text(b.event);
    if (event === undefined) throw new AdapterMappingError('event', 'event is missing (expected "resolved", "closed" or "reopened")');
    if (event === 'reopened') return { kind: 'reopened', source: 'freshdesk', ticketId: ticketIdOf(b.ticket_id, 'ticket_id') };
    if (event !== 'resolved' && event !== 'closed') return { kind: 'ignored', reason: `event ${event} is not a close` };

    const customer = obj(b.customer);
    const ticket = toTicket(
      'freshdesk',
      {
        ticket_id: text(b.ticket_id),
        customer: { email: text(customer.email), name: text(customer.name) },
        // An unassigned ticket renders the agent placeholders as "". Freshdesk has no placeholder for who resolved
        // the ticket or who last replied; a body that sends them (closed_by, last_replied_by) is read like Zendesk's.
        agent: agentDraft(b.agent),
        closed_by: agentDraft(b.closed_by),
        last_replied_by: agentDraft(b.last_replied_by),
        team: text(b.team),
        subject: text(b.subject),
        tags: tagList(b.tags, /,/),
        brand: text(b.brand),
      },
      now,
    );
    return { kind: 'closed', ticket };
  },
};
