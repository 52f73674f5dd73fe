import { z } from 'zod';
import type { TicketClosed } from '../surveys/types';
import type { AgentRef } from '../surveys/credit';
import { supportedInstant } from '../shared/dates';
import { ONE_LINE } from '../shared/validation';

/**
 * One line of text: CR/LF and other control characters would end up in mail headers. A string
 * check, not a refine(): each refine or transform wraps the field in a ZodEffects whose parse
 * allocates closures, and those were the largest allocation of a webhook (BENCHMARKS.md).
 */
const line = (max: number) => z.string().trim().min(1).max(max).regex(ONE_LINE, 'must not contain line breaks or control characters');

const email = z.string().trim().max(320).email();
/** Helpdesks often send null for empty fields: absent (toTicketClosed reads null as absent; no transform, see line()). */
const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish();

const agentSchema = z.object({ id: line(128), name: optional(line(200)), email: optional(email) });

export const ticketClosedSchema = z.object({
  ticket_id: line(128),
  /** In the supported calendar (shared/dates.ts), so the day it counts on in REPORT_TZ is one reports can ask for (give or take the zone's offset at its two ends). */
  closed_at: optional(supportedInstant),
  customer: z.object({ email, name: optional(line(200)) }),
  agent: agentSchema,
  /** Optional candidates (README "Agent credit"): with either, `agent` is the assignee and AGENT_CREDIT decides. */
  last_replied_by: optional(agentSchema),
  closed_by: optional(agentSchema),
  team: optional(line(128)),
  subject: optional(line(500)),
  tags: optional(z.array(line(100)).max(100)),
  locale: optional(z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or pt-BR')),
  brand: optional(line(128)),
  thread_message_id: optional(z.string().max(998).regex(/^<[^<>\s\u0000-\u001f\u007f\p{Cs}]+@[^<>\s\u0000-\u001f\u007f\p{Cs}]+>$/u, 'must look like <id@host>')),
});

export const ticketReopenedSchema = z.object({ ticket_id: line(128) });

export type TicketClosedPayload = z.infer<typeof ticketClosedSchema>;

type AgentPayload = TicketClosedPayload['agent'];
const agentRef = (a: AgentPayload | null | undefined): AgentRef | undefined =>
  a ? { id: a.id, name: a.name ?? undefined, email: a.email ?? undefined } : undefined;

/**
 * The contract's payload as a TicketClosed. The generic contract's `agent` alone is credited as sent; with
 * `last_replied_by` or `closed_by` it is the assignee among the candidates. Adapters pass `agentIsAssignee`
 * (their `agent` is always the helpdesk's assignee, and may be absent: an unassigned ticket).
 */
export function toTicketClosed(
  p: Omit<TicketClosedPayload, 'agent'> & { agent?: AgentPayload | null },
  source: string,
  now: Date,
  agentIsAssignee = false,
): TicketClosed {
  const agent = agentRef(p.agent);
  const lastReplier = agentRef(p.last_replied_by);
  const closer = agentRef(p.closed_by);
  const candidates = agentIsAssignee || lastReplier || closer ? { lastReplier, closer, assignee: agent } : undefined;
  return {
    source,
    ticketId: p.ticket_id,
    closedAt: p.closed_at ? new Date(p.closed_at) : now,
    customer: { email: p.customer.email, name: p.customer.name ?? undefined },
    agent: candidates ? undefined : agent,
    candidates,
    team: p.team ?? undefined,
    subject: p.subject ?? undefined,
    tags: p.tags ?? [],
    locale: p.locale ?? undefined,
    brand: p.brand ?? undefined,
    threadMessageId: p.thread_message_id ?? undefined,
  };
}
