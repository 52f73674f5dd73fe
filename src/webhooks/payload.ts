import { z } from 'zod';
import type { TicketClosed } from '../surveys/types';

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** One line of text: CR/LF and other control characters would end up in mail headers. */
const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !CONTROL_CHARS.test(s), 'must not contain line breaks or control characters');

const email = z.string().trim().max(320).email();
/** Helpdesks often send null for empty fields: treat it as absent. */
const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

export const ticketClosedSchema = z.object({
  ticket_id: line(128),
  closed_at: optional(z.string().datetime({ offset: true, message: 'must be an ISO-8601 date-time' })),
  customer: z.object({ email, name: optional(line(200)) }),
  agent: z.object({ id: line(128), name: optional(line(200)), email: optional(email) }),
  team: optional(line(128)),
  subject: optional(line(500)),
  tags: optional(z.array(line(100)).max(100)),
  locale: optional(z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or pt-BR')),
  brand: optional(line(128)),
  thread_message_id: optional(z.string().max(998).regex(/^<[^<>\s\u0000-\u001f\u007f]+@[^<>\s\u0000-\u001f\u007f]+>$/, 'must look like <id@host>')),
});

export const ticketReopenedSchema = z.object({ ticket_id: line(128) });

export type TicketClosedPayload = z.infer<typeof ticketClosedSchema>;

/** The contract's payload as a TicketClosed; adapters pass payloads whose agent may be absent (an unassigned ticket). */
export function toTicketClosed(p: Omit<TicketClosedPayload, 'agent'> & { agent?: TicketClosedPayload['agent'] | null }, source: string, now: Date): TicketClosed {
  return {
    source,
    ticketId: p.ticket_id,
    closedAt: p.closed_at ? new Date(p.closed_at) : now,
    customer: { email: p.customer.email, name: p.customer.name },
    agent: p.agent ? { id: p.agent.id, name: p.agent.name, email: p.agent.email } : undefined,
    team: p.team,
    subject: p.subject,
    tags: p.tags ?? [],
    locale: p.locale,
    brand: p.brand,
    threadMessageId: p.thread_message_id,
  };
}
