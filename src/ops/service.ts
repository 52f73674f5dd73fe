import type { Db } from '../shared/db';

export type Readiness = { status: 'ready' } | { status: 'not_ready'; reason: 'migrations_pending'; pending: number } | { status: 'not_ready'; reason: 'database_unavailable' };

/** Ready: the database answers and its schema is current (`pendingMigrations`: src/schema.ts, passed in by app.ts). */
export async function readiness(db: Db, pendingMigrations: (db: Db) => Promise<number>): Promise<Readiness> {
  try {
    await db.raw('SELECT 1');
    const pending = await pendingMigrations(db);
    return pending > 0 ? { status: 'not_ready', reason: 'migrations_pending', pending } : { status: 'ready' };
  } catch {
    return { status: 'not_ready', reason: 'database_unavailable' };
  }
}
