import type { Knex } from 'knex';
import { forClaim, type Db } from '../shared/db';
import { dueAndFree, HELD, held, leaseRows, type Claim } from '../shared/outbox-poller';
import type { AlertBody } from './message';

/**
 * A claimed lead email: the first pending alert of its lead (`id`, whose claim it is) and every
 * alert it carries (`alerts`, itself first): with a digest, the other alerts of the same team for
 * the same lead that were pending when it was claimed.
 */
export type AlertEmail = Claim & { leadsKey: string; recipient: string; alerts: AlertBody[] };

/**
 * Leases due alert emails. Only the oldest pending alert of each team and lead is due (the others
 * wait in its batch or behind it), so a lead gets the alerts in order and a digest is one email.
 * With `gather`, the claim puts every pending alert of the same team and lead into the first one's batch;
 * a batch once made stays, so a retry or a re-send after a crash carries the same alerts (and any
 * that arrived since).
 */
export async function claimDueAlerts(db: Db, now: Date, leaseUntil: Date, limit: number, gather: boolean): Promise<AlertEmail[]> {
  return db.transaction(async (trx) => {
    const rows = await forClaim(
      db,
      dueAndFree(trx('lead_alerts as a'), now, 'a.')
        .whereNotExists((q) =>
          q.select(trx.raw('1')).from('lead_alerts as e').whereRaw('e.leads_key = a.leads_key AND e.recipient = a.recipient AND e.id < a.id').andWhere('e.status', 'pending'),
        )
        .orderBy('a.id')
        .limit(limit)
        .select('a.id', 'a.leads_key', 'a.recipient', 'a.attempts'),
    );
    if (rows.length === 0) return [];
    await leaseRows(trx, 'lead_alerts', rows.map((r) => r.id), leaseUntil, now);
    const emails: AlertEmail[] = [];
    for (const r of rows) {
      const batch = trx('lead_alerts').where({ status: 'pending' }).andWhere((w) => w.whereNull('batch_id').orWhere('batch_id', r.id));
      await (gather ? batch.andWhere({ leads_key: r.leads_key, recipient: r.recipient }) : batch.andWhere('id', r.id)).update({ batch_id: r.id, updated_at: now });
      const bodies: string[] = await trx('lead_alerts').where({ batch_id: r.id, status: 'pending' }).orderBy('id').pluck('body');
      emails.push({ id: r.id, attempts: r.attempts + 1, leaseUntil, leadsKey: r.leads_key, recipient: r.recipient, alerts: bodies.map((b) => JSON.parse(b) as AlertBody) });
    }
    return emails;
  });
}

/**
 * Ends a claimed email's batch only while the claim still holds its first alert; answers whether
 * it did. The batch's other alerts move with it, in one transaction.
 */
async function endBatch(db: Db, email: AlertEmail, change: Record<string, unknown>, batchToo: boolean): Promise<boolean> {
  return db.transaction(async (trx: Knex.Transaction) => {
    const changed = await trx('lead_alerts').whereRaw(HELD, held(email)).update(change);
    if (changed === 0) return false;
    if (batchToo) await trx('lead_alerts').where({ batch_id: email.id, status: 'pending' }).whereNot('id', email.id).update({ ...change, attempts: email.attempts });
    return true;
  });
}

export const markAlertSent = (db: Db, email: AlertEmail, now: Date) =>
  endBatch(db, email, { status: 'sent', locked_until: null, last_error: null, updated_at: now }, true);

export const markAlertFailed = (db: Db, email: AlertEmail, error: string, now: Date) =>
  endBatch(db, email, { status: 'failed', locked_until: null, last_error: error, updated_at: now }, true);

export const markAlertRetry = (db: Db, email: AlertEmail, dueAt: Date, error: string, now: Date) =>
  endBatch(db, email, { due_at: dueAt, locked_until: null, last_error: error, updated_at: now }, false);
