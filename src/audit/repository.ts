import { toDate, type Db } from '../shared/db';
import type { AuditAction } from './record';

export type AuditFilter = { action?: AuditAction; actor?: string; from?: Date; to?: Date };

/** Newest first, a page before `before` (an id). */
export async function listEvents(db: Db, f: AuditFilter, limit: number, before?: number) {
  const q = db('audit_events');
  if (f.action) q.where('action', f.action);
  if (f.actor) q.where('actor', f.actor.toLowerCase());
  if (f.from) q.where('at', '>=', f.from);
  if (f.to) q.where('at', '<', f.to);
  if (before) q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(limit + 1).select('id', 'at', 'actor', 'action', 'subject', 'detail', 'ip');
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({ id: r.id as number, at: toDate(r.at).toISOString(), actor: r.actor as string, action: r.action as string, subject: r.subject ?? null, detail: r.detail ? JSON.parse(r.detail) : null, ip: r.ip ?? null })),
    next: rows.length > limit ? (page.at(-1)!.id as number) : null,
  };
}

/** AUDIT_RETENTION_DAYS: deletes the events older than `cutoff`; answers how many. */
export const pruneBefore = (db: Db, cutoff: Date) => db('audit_events').where('at', '<', cutoff).delete();
