import path from 'node:path';
import { createDb, type Db } from '../../src/shared/db';
import { sqliteFile } from './closeloop';

/** Where a setup's data lives, and what the bench needs to know about it. */
export type Store = {
  /** DATABASE_URL (and DATABASE_SCHEMA) for the service; empty: its SQLite file in the bench's directory. */
  env: Record<string, string>;
  /** The service's database, for the one write the bench makes to it (delivery.ts). */
  open: () => Db;
  /** The ingest ceiling's process (a script beside this one) and a line for the log. */
  ceiling: { script: string; env: Record<string, string>; describe: string };
  /** The database server's processes, for their CPU: none for SQLite, which runs inside the service. */
  server?: { name: string; pids: () => Promise<number[]> };
  /** Drops the setup's data once it is measured, so that nothing of it (autovacuum) runs during the next setup. */
  dispose?: () => Promise<void>;
};

/** SQLite, as `npm run bench` has always measured it: the service's file and the ceiling's beside it. */
export const sqliteStore = (dir: string): Store => ({
  env: {},
  open: () => createDb(sqliteFile(dir)),
  ceiling: { script: 'ceiling-ingest.js', env: { CEILING_DB: path.join(dir, 'ceiling.sqlite') }, describe: 'bare express 5 + one SQLite INSERT' },
});
