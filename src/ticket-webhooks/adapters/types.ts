import crypto from 'node:crypto';
import type { TicketClosed } from '../../surveys/types';
import { ticketClosedSchema, toTicketClosed } from '../payload';

export type AdapterResult =
  | { kind: 'closed'; ticket: TicketClosed } // source = 'zendesk' | 'helpscout' | 'freshdesk' | 'intercom'
  | { kind: 'reopened'; source: string; ticketId: string }
  | { kind: 'ignored'; reason: string };

export type InboundRequest = { rawBody: Buffer; header(name: string): string | undefined };

/** A payload the adapter cannot map: the route answers 400 naming `field`. */
export class AdapterMappingError extends Error {
  constructor(
    readonly field: string,
    message?: string,
  ) {
    super(message ?? `${field} is missing or invalid`);
    this.name = 'AdapterMappingError';
  }
}

export type Adapter = {
  source: 'zendesk' | 'helpscout' | 'freshdesk' | 'intercom';
  /** true when the request carries valid credentials; constant-time comparisons; Zendesk: reject timestamps more than 300 s from `now` */
  verify(req: InboundRequest, secret: string, now: Date): boolean;
  /**
   * maps the parsed JSON body; throws AdapterMappingError naming a missing/invalid field.
   * `req` is optional: Help Scout names its event only in a header (X-HelpScout-Event), so pass it where available.
   */
  map(body: unknown, now: Date, req?: Pick<InboundRequest, 'header'>): AdapterResult;
};

// ---- Shared by the adapters: reading loose JSON and validating like the generic contract ----

export type Json = Record<string, unknown>;

/** The object at `value`, or an empty one: vendor payloads nest optional objects and send null for them. */
export const obj = (value: unknown): Json => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});

/** A string with blanks treated as absent (helpdesk placeholders render missing values as ""); numbers become strings. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  return value.trim() === '' ? undefined : value;
}

/** "First Last" from separate name parts, or undefined when both are blank. */
export const fullName = (...parts: unknown[]) => text(parts.map(text).filter(Boolean).join(' '));

/** Tags from a string split on `separator`, or an array kept as is (the schema checks each entry). */
export function tagList(value: unknown, separator: RegExp): unknown {
  if (Array.isArray(value)) return value;
  const s = text(value);
  return s === undefined ? undefined : [...new Set(s.split(separator).map((t) => t.trim()).filter(Boolean))];
}

/** A language tag, or undefined: a helpdesk that renders a language name ("English") must not cost the survey. */
export const languageTag = (value: unknown) => {
  const parsed = ticketClosedSchema.shape.locale.safeParse(text(value));
  return parsed.success ? (parsed.data ?? undefined) : undefined;
};

/** Unix seconds to an ISO string, for vendors that send epoch timestamps; one beyond what Date holds stays a number, which the contract refuses. */
export function fromUnixSeconds(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  const at = new Date(value * 1000);
  return Number.isNaN(at.getTime()) ? String(value) : at.toISOString();
}

type AgentDraft = { id: unknown; name?: unknown; email?: unknown };

/**
 * What an adapter read from its payload, shaped like the generic contract (README "Webhook contract"). The agent
 * candidates (README "Agent credit"): `agent` is the assignee, `closed_by` who closed, `last_replied_by` the agent
 * who last replied to the customer; each absent when the payload does not show it.
 */
export type TicketDraft = {
  ticket_id: unknown;
  closed_at?: unknown;
  customer: { email: unknown; name?: unknown };
  agent?: AgentDraft;
  closed_by?: AgentDraft;
  last_replied_by?: AgentDraft;
  team?: unknown;
  subject?: unknown;
  tags?: unknown;
  locale?: unknown;
  brand?: unknown;
  thread_message_id?: unknown;
};

/** An agent object of our own bodies (Zendesk, Freshdesk): placeholders of an empty user render as "", so no id means nobody. */
export function agentDraft(value: unknown): AgentDraft | undefined {
  const a = obj(value);
  return text(a.id) ? { id: text(a.id), name: text(a.name), email: text(a.email) } : undefined;
}

/** The generic contract, except that a ticket without an assignee is fine here (the candidates decide, surveys/credit.ts). */
const draftSchema = ticketClosedSchema.extend({ agent: ticketClosedSchema.shape.agent.nullish() });

/**
 * Validates a draft with the generic contract's limits (lengths, email syntax, no control characters) and builds the
 * TicketClosed. `fieldNames` maps contract paths (e.g. "customer.email") to the vendor's, for the 400 answer.
 */
export function toTicket(source: Adapter['source'], draft: TicketDraft, now: Date, fieldNames: Record<string, string> = {}): TicketClosed {
  const parsed = draftSchema.safeParse(draft);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join('.');
    const field = fieldNames[path] ?? fieldNames[path.replace(/\.\d+$/, '')] ?? path;
    const missing = issue.code === 'invalid_type' && valueAt(draft, issue.path) === undefined;
    throw new AdapterMappingError(field, missing ? `${field} is missing` : `${field}: ${issue.message}`);
  }
  return toTicketClosed(parsed.data, source, now, true);
}

/** The value at a zod issue's path (undefined when any step is missing). */
function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** A ticket id for close and reopen answers, validated like the contract's ticket_id. */
export function ticketIdOf(value: unknown, field: string): string {
  const parsed = ticketClosedSchema.shape.ticket_id.safeParse(text(value));
  if (!parsed.success) throw new AdapterMappingError(field, text(value) === undefined ? `${field} is missing` : `${field}: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** HMAC of the raw body (optionally prefixed), in the encoding the vendor sends. */
export function hmac(algorithm: 'sha1' | 'sha256', secret: string, rawBody: Buffer, encoding: 'hex' | 'base64', prefix = ''): string {
  return crypto.createHmac(algorithm, secret).update(prefix, 'utf8').update(rawBody).digest(encoding);
}
