import type { Knex } from 'knex';
import type { Db } from '../shared/db';

/*
 * The one writer of the audit trail. Other areas record their events here, in their own
 * transaction, so a change and its record commit together or not at all.
 */

/** One entry of the audit trail: who (`actor`), did what (`action`), to what (`subject`), when, from where. */
export type AuditEvent = { actor: string; action: AuditAction; subject?: string | null; detail?: Record<string, unknown>; ip?: string | null };

export const AUDIT_ACTIONS = ['signin', 'signin_failed', 'signin_link_sent', 'signout', 'user_added', 'user_changed', 'user_removed', 'export', 'erasure'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Records an event, in the caller's transaction when given one (the change and its record commit together). */
export async function record(db: Db | Knex.Transaction, event: AuditEvent, at: Date): Promise<void> {
  await db('audit_events').insert({
    at,
    actor: event.actor.slice(0, 320),
    action: event.action,
    subject: event.subject?.slice(0, 320) ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
    ip: event.ip?.slice(0, 64) ?? null,
  });
}

