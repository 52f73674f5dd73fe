import type { Knex } from 'knex';
import { migrationSource, migrationSourceWith, type MigrationContext } from '../migrations';
import { isPostgres, type Db } from './shared/db';

/* The database schema: knex migrations (migrations/, listed in migrations/index.ts), applied at start and by `npm run migrate`. */

/** Applies pending migrations; `context` gives those that turn stored addresses into keyed hashes the key (PRIVACY_KEY). */
export async function migrateLatest(db: Db, context: MigrationContext = {}): Promise<string[]> {
  const schema = (db.client.config as Knex.Config).searchPath;
  if (isPostgres(db) && schema) await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [Array.isArray(schema) ? schema[0] : schema]);
  const [, applied] = await db.migrate.latest({ migrationSource: migrationSourceWith(context) });
  return applied as string[];
}

export async function pendingMigrations(db: Db): Promise<number> {
  const [, pending] = await db.migrate.list({ migrationSource });
  return (pending as unknown[]).length;
}

