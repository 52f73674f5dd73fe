import type { TicketClosed } from './types';

/** Why a closed ticket gets no survey, or null when it should get one. Agents must not rate themselves. */
export function suppressionReason(ticket: TicketClosed): string | null {
  const customer = ticket.customer.email.toLowerCase();
  if (ticket.agent?.email && ticket.agent.email.toLowerCase() === customer) return 'customer_is_agent';
  return null;
}
