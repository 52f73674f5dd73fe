import type { Knex } from 'knex';
import { waitFor } from './wait';

/**
 * Makes every email of `table` (survey emails, reminders or lead alerts) that waits out a retry delay
 * due at `at` (now), as an operator's "retry now" would; rows being sent (leased) are left alone, so
 * nothing goes out twice. For tests that run the real worker on the real clock through a fault: the
 * delay doubles with each failed attempt, so without this the wait after a fault ends grows with how
 * long the fault lasted, and on a busy machine it outgrows any bound. Call it once the fault has
 * changed, not in a loop (each call costs every row an attempt). The worker may be writing some of
 * those rows meanwhile; on PostgreSQL this multi-row update can then deadlock with its transaction, and
 * the server cancels this one (40P01, seen on a busy CI machine): it is asked again.
 */
export async function retryNow(db: Knex, table: 'outbox' | 'reminders' | 'lead_alerts' = 'outbox', at: Date = new Date()): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db(table).where({ status: 'pending' }).whereNull('locked_until').update({ due_at: at });
    } catch (err) {
      if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
    }
  }
}

type WithWorker = { db: Knex; services: { worker: { drain(): Promise<number>; stop(): Promise<void> } } };

/**
 * The positive control before asserting that nothing else was sent, instead of a sleep. Waits until no
 * outbox row is pending (each is sent, failed or cancelled: nothing is due, now or later), runs one whole
 * worker pass that begins after that and awaits it, then stops the worker, which waits for any send its
 * own loop still had in flight. Answers how many rows that pass claimed: 0 unless a finished row was taken
 * up again. Afterwards no send is running or can begin, so what the SMTP server holds is all there will be.
 * The worker stays stopped: call it at the end of a test.
 */
export async function lastWorkerPass(t: WithWorker): Promise<number> {
  await waitFor(async () => Number((await t.db('outbox').where({ status: 'pending' }).count<{ n: number }[]>({ n: '*' }).first())?.n ?? 0) === 0);
  const claimed = await t.services.worker.drain();
  await t.services.worker.stop();
  return claimed;
}
