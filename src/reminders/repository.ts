import { forClaim, type Db } from '../shared/db';
import { dueAndFree, HELD, held, leaseRows } from '../shared/outbox-poller';
import { finishReminder, type ReminderClaim, type ReminderSkip } from '../surveys/state';

export type { ReminderClaim };

/** Leases due reminders, oldest due first; one whose worker died returns when its lease runs out. */
export async function claimDueReminders(db: Db, now: Date, leaseUntil: Date, limit: number): Promise<ReminderClaim[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(db, dueAndFree(trx('reminders'), now).orderBy('due_at').limit(limit).select('id', 'survey_id', 'attempts'));
    if (rows.length === 0) return [];
    await leaseRows(trx, 'reminders', rows.map((r) => r.id), leaseUntil, now);
    return rows.map((r) => ({ id: r.id, surveyId: r.survey_id, attempts: r.attempts + 1, leaseUntil }));
  });
}

/** Ends a claimed reminder in its own transaction (surveys/state.ts finishReminder); answers whether the claim still held. */
export const endReminder = (db: Db, claim: ReminderClaim, end: Parameters<typeof finishReminder>[2], now: Date) => db.transaction((trx) => finishReminder(trx, claim, end, now));

export const skipReminder = (db: Db, claim: ReminderClaim, reason: ReminderSkip, now: Date) => endReminder(db, claim, { status: 'cancelled', reason }, now);

/** Releases the claim and makes the reminder due again at `dueAt`; answers false (and changes nothing) if the claim no longer held. */
export const retryReminder = (db: Db, claim: ReminderClaim, dueAt: Date, error: string | null, now: Date) =>
  db('reminders')
    .whereRaw(HELD, held(claim))
    .update({ due_at: dueAt, locked_until: null, last_error: error, updated_at: now })
    .then((changed) => changed > 0);
