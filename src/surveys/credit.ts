/** An agent as a helpdesk names them. */
export type AgentRef = { id: string; name?: string; email?: string };

/** Who may get the credit for a ticket, as far as its payload shows: each adapter fills what its helpdesk sends. */
export type CreditCandidates = { lastReplier?: AgentRef; closer?: AgentRef; assignee?: AgentRef };

/** AGENT_CREDIT: whom an operator credits first. */
export const AGENT_CREDIT_CHOICES = ['last_reply', 'closer', 'assignee'] as const;
export type AgentCredit = (typeof AGENT_CREDIT_CHOICES)[number];

/** How a survey's agent was chosen (surveys.credited_by): a candidate, or `payload` for the generic contract's own `agent`. */
export type CreditedBy = AgentCredit | 'payload';

/** What crediting reads and writes of a ticket (surveys/types.ts TicketClosed). */
type Credited = { agent?: AgentRef; candidates?: CreditCandidates; creditedBy?: CreditedBy };

const CANDIDATE: Record<AgentCredit, keyof CreditCandidates> = { last_reply: 'lastReplier', closer: 'closer', assignee: 'assignee' };

/**
 * The one rule, the same for every source: the preferred candidate first, then the others in the default
 * order (last reply, closer, assignee). So `last_reply` is last reply → closer → assignee, `closer` is
 * closer → last reply → assignee, `assignee` is assignee → last reply → closer. Only a ticket with none of the
 * three has no agent.
 */
export function creditOrder(preference: AgentCredit): AgentCredit[] {
  return [preference, ...AGENT_CREDIT_CHOICES.filter((way) => way !== preference)];
}

/** The agent the rule credits among the candidates, and how, or undefined when there is nobody to credit. */
export function chooseAgent(candidates: CreditCandidates, preference: AgentCredit): { agent: AgentRef; creditedBy: AgentCredit } | undefined {
  for (const way of creditOrder(preference)) {
    const agent = candidates[CANDIDATE[way]];
    if (agent) return { agent, creditedBy: way };
  }
  return undefined;
}

/**
 * The ticket with its agent decided. A ticket that carries candidates (every helpdesk adapter, or the generic
 * contract with `last_replied_by` / `closed_by`) gets the rule's choice; otherwise the generic contract named
 * the agent itself (`payload`).
 */
export function creditTicket<T extends Credited>(ticket: T, preference: AgentCredit): T {
  if (!ticket.candidates) return { ...ticket, agent: ticket.agent, creditedBy: ticket.agent ? 'payload' : undefined };
  const chosen = chooseAgent(ticket.candidates, preference);
  return { ...ticket, agent: chosen?.agent, creditedBy: chosen?.creditedBy };
}
