import { forClaim, type Db } from '../shared/db';
import { dueAndFree, HELD, held, leaseRows, type Claim } from '../shared/outbox-poller';

/** A claimed event; `attempts` and `leaseUntil` are its claim, as for emails (delivery/repository.ts). */
export type HookRow = Claim & { url: string; body: string };

/**
 * Leases due events. Only the oldest pending event of each survey and receiver is due, so a
 * receiver gets one survey's events in order even while it fails and recovers.
 */
export async function claimDueHooks(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<HookRow[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(
      db,
      dueAndFree(trx('hook_outbox as h'), now, 'h.')
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
    await leaseRows(trx, 'hook_outbox', rows.map((r) => r.id), leaseUntil, now);
    return rows.map((r) => ({ id: r.id, url: r.url, body: r.body, attempts: r.attempts + 1, leaseUntil }));
  });
}

/**
 * Each transition changes the event only while `row`'s claim still holds it (pending, with the
 * attempts and lease it was claimed with), and answers whether it did: a worker whose lease ran out
 * while another one took the event changes nothing.
 */
const whileHeld = (db: Db, row: HookRow, change: Record<string, unknown>) =>
  db('hook_outbox')
    .whereRaw(HELD, held(row))
    .update(change)
    .then((changed) => changed > 0);

export const markHookSent = (db: Db, row: HookRow, now: Date) =>
  whileHeld(db, row, { status: 'sent', locked_until: null, last_error: null, updated_at: now });

export const markHookRetry = (db: Db, row: HookRow, dueAt: Date, error: string, now: Date) =>
  whileHeld(db, row, { due_at: dueAt, locked_until: null, last_error: error, updated_at: now });

export const markHookFailed = (db: Db, row: HookRow, error: string, now: Date) =>
  whileHeld(db, row, { status: 'failed', locked_until: null, last_error: error, updated_at: now });
