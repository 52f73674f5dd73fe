import { ConfigError, loadConfig } from './config';
import { createDb, migrateLatest, withStartupLock } from './shared/db';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
async function run() {
  const config = loadConfig();
  const db = createDb(config.database);
  try {
    const applied = await withStartupLock(db, () => migrateLatest(db));
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await db.destroy();
  }
}

run().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `migration failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
