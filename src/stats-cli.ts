import { ConfigError, loadConfig } from './config';
import { loadOrCreateCredentials } from './credentials';
import { addressHasher } from './shared/address-hash';
import { createDb, withStartupLock } from './shared/db';
import { migrateLatest } from './schema';
import { rebuildStats } from './surveys/counters/ledger';

/** `npm run stats:rebuild`: recomputes the report counters from the surveys table, in REPORT_TZ. */
async function run() {
  // The install's generated PRIVACY_KEY (outside production, when unset), as npm start uses: a migration hashes addresses with it.
  const config = loadConfig(process.env, (file) => loadOrCreateCredentials(file).credentials);
  const db = createDb(config.database);
  try {
    const started = Date.now();
    const result = await withStartupLock(db, async () => {
      await migrateLatest(db, { addressHash: addressHasher(config.privacyKey) });
      return rebuildStats(db, config.reportTz);
    });
    process.stdout.write(`rebuilt ${result.rows} counter rows from ${result.surveys} surveys in ${config.reportTz} (${Date.now() - started} ms)\n`);
  } finally {
    await db.destroy();
  }
}

run().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `rebuild failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
