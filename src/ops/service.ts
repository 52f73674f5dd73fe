import type { Db } from '../shared/db';
import { pendingMigrations } from '../schema';

export type Readiness = { status: 'ready' } | { status: 'not_ready'; reason: 'migrations_pending'; pending: number } | { status: 'not_ready'; reason: 'database_unavailable' };

/** Ready: the database answers and its schema is current. */
export async function readiness(db: Db): Promise<Readiness> {
  try {
    await db.raw('SELECT 1');
    const pending = await pendingMigrations(db);
    return pending > 0 ? { status: 'not_ready', reason: 'migrations_pending', pending } : { status: 'ready' };
  } catch {
    return { status: 'not_ready', reason: 'database_unavailable' };
  }
}
