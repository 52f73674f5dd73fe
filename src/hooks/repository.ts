import { forClaim, type Db } from '../shared/db';

export type HookRow = { id: number; url: string; body: string; attempts: number };

/**
 * Leases due events. Only the oldest pending event of each survey and receiver is due, so a
 * receiver gets one survey's events in order even while it fails and recovers.
 */
export async function claimDueHooks(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<HookRow[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(
      db,
      trx('hook_outbox as h')
        .where('h.status', 'pending')
        .andWhere('h.due_at', '<=', now)
        .andWhere((q) => q.whereNull('h.locked_until').orWhere('h.locked_until', '<=', now))
        .whereNotExists((q) =>
          q
            .select(trx.raw('1'))
            .from('hook_outbox as e')
            .whereRaw('e.survey_id = h.survey_id AND e.url = h.url AND e.id < h.id')
            .andWhere('e.status', 'pending'),
        )
        .orderBy('h.id')
        .limit(limit)
        .select('h.id', 'h.url', 'h.body', 'h.attempts'),
    );
    if (rows.length === 0) return [];
    await trx('hook_outbox')
      .whereIn('id', rows.map((r) => r.id))
      .update({ locked_until: leaseUntil, attempts: trx.raw('attempts + 1'), updated_at: now });
    return rows.map((r) => ({ id: r.id, url: r.url, body: r.body, attempts: r.attempts + 1 }));
  });
}

export async function markHookSent(db: Db, id: number, now: Date) {
  await db('hook_outbox').where({ id }).update({ status: 'sent', locked_until: null, last_error: null, updated_at: now });
}

export async function markHookRetry(db: Db, id: number, dueAt: Date, error: string, now: Date) {
  await db('hook_outbox').where({ id }).update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now });
}

export async function markHookFailed(db: Db, id: number, error: string, now: Date) {
  await db('hook_outbox').where({ id }).update({ status: 'failed', locked_until: null, last_error: error, updated_at: now });
}
