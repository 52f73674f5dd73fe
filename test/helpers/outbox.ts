import type { Knex } from 'knex';

/**
 * Makes every email that waits out a retry delay due now, as an operator's "retry now" would; rows
 * being sent (leased) are left alone, so nothing goes out twice. For tests that run the real worker
 * on the real clock through a fault: the delay doubles with each failed attempt, so without this the
 * wait after a fault ends grows with how long the fault lasted, and on a busy machine it outgrows any
 * bound. Call it once the fault has changed, not in a loop (each call costs every row an attempt).
 */
export async function retryNow(db: Knex): Promise<number> {
  return db('outbox').where({ status: 'pending' }).whereNull('locked_until').update({ due_at: new Date() });
}
