import { ConfigError, loadConfig } from './config';
import { loadOrCreateCredentials } from './credentials';
import { addressHasher } from './shared/address-hash';
import { createDb, withStartupLock } from './shared/db';
import { migrateLatest } from './schema';

/** `npm run migrate`: applies pending migrations to DATABASE_URL and exits. */
async function run() {
  // The install's generated PRIVACY_KEY (outside production, when unset), as npm start uses: a migration hashes addresses with it.
  const config = loadConfig(process.env, (file) => loadOrCreateCredentials(file).credentials);
  const db = createDb(config.database);
  try {
    const applied = await withStartupLock(db, () => migrateLatest(db, { addressHash: addressHasher(config.privacyKey) }));
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
  } finally {
    await db.destroy();
  }
}

run().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `migration failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
