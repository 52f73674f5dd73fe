import crypto from 'node:crypto';
import type { TicketClosed } from './types';
import type { AgentRef } from './credit';

/** Why a closed ticket gets no survey. Stored on the survey and counted in reports. */
export const SUPPRESSION_REASONS = ['excluded_tag', 'no_agent', 'customer_is_agent', 'internal_domain', 'opted_out', 'throttled', 'sampled_out'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export type EligibilityPolicy = Readonly<{
  excludeTags: readonly string[];
  internalDomains: readonly string[];
  /** 0..1: the share of eligible tickets that get a survey, chosen by ticket id. */
  sampleRate: number;
  /** A customer surveyed within this many days is not surveyed again; 0 turns it off. */
  throttleDays: number;
}>;

export const normalEmail = (email: string) => email.trim().toLowerCase();
/** An agent's address as "is this customer one of our agents" compares it (agent_emails). */
export const agentAddress = (email: string) => email.toLowerCase();
/** A ticket's agents: the credited one and every other candidate its payload named (assignee, closer, last replier). */
const agentsOf = (t: TicketClosed): AgentRef[] => [t.agent, t.candidates?.assignee, t.candidates?.closer, t.candidates?.lastReplier].filter((a): a is AgentRef => a !== undefined);
/** The distinct addresses the agents of these tickets came with, as agent_emails keeps them. */
export const agentAddressesOf = (tickets: readonly TicketClosed[]): string[] => [...new Set(tickets.flatMap((t) => agentsOf(t).flatMap((a) => (a.email ? [agentAddress(a.email)] : []))))];

/** The reasons the ticket alone decides, in order; the stored history (opt-outs, agents, throttle) comes after. */
export function ticketSuppression(ticket: TicketClosed, policy: EligibilityPolicy): SuppressionReason | null {
  const tags = ticket.tags.map((t) => t.toLowerCase());
  if (policy.excludeTags.some((t) => tags.includes(t.toLowerCase()))) return 'excluded_tag';
  if (!ticket.agent) return 'no_agent';
  const customer = normalEmail(ticket.customer.email);
  if (agentsOf(ticket).some((a) => a.email && normalEmail(a.email) === customer)) return 'customer_is_agent';
  return null;
}

/** Checked after the stored "is this customer one of our agents" so reasons keep their documented order. */
export function internalDomain(email: string, policy: EligibilityPolicy): SuppressionReason | null {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  return policy.internalDomains.some((d) => domain === d || domain.endsWith(`.${d}`)) ? 'internal_domain' : null;
}

/** What stored history (and the surveys decided before, in the same batch) says about customers, by normalised email. */
export type CustomerHistory = {
  /** Emails that are an agent's on some survey. */
  agents: Set<string>;
  /** Emails whose keyed hash is in opt_outs: an opt-out outlives the erasure of the customer's data. */
  optedOut: Set<string>;
  /** When each customer was last surveyed (scheduled or sent), epoch ms. */
  lastSurveyed: Map<string, number>;
};

/** The reasons stored history gives not to survey this customer now, in their documented order. */
export function historySuppression(history: CustomerHistory, email: string, now: Date, policy: EligibilityPolicy): SuppressionReason | null {
  if (history.agents.has(email)) return 'customer_is_agent';
  const internal = internalDomain(email, policy);
  if (internal) return internal;
  if (history.optedOut.has(email)) return 'opted_out';
  const last = history.lastSurveyed.get(email);
  if (policy.throttleDays > 0 && last !== undefined && last >= now.getTime() - policy.throttleDays * 86_400_000) return 'throttled';
  return null;
}

/**
 * Adds a survey just decided to the history, as the database would show it to the next decision
 * of the same transaction. Emails that pass validation are ASCII, so JavaScript's lower case is SQL's.
 */
export function rememberSurvey(history: CustomerHistory, ticket: TicketClosed, scheduled: boolean, now: Date): void {
  if (ticket.agent?.email) history.agents.add(agentAddress(ticket.agent.email));
  if (scheduled) history.lastSurveyed.set(ticket.customer.email.toLowerCase(), now.getTime());
}

/** Deterministic sampling: a ticket id lands at the same point in [0, 1) on every delivery and instance. */
export function sampledIn(ticketId: string, rate: number): boolean {
  if (rate >= 1) return true;
  const hash = crypto.createHash('sha256').update(`sample\u0000${ticketId}`).digest();
  return hash.readUInt32BE(0) / 2 ** 32 < rate;
}
