import { ConfigError, loadConfig } from './config';
import { loadOrCreateCredentials } from './credentials';
import { addressHasher } from './shared/address-hash';
import { createDb, withStartupLock } from './shared/db';
import { migrateLatest } from './schema';
import { DEFAULT_BATCH, rebuildOnline } from './surveys/counters/rebuild';

const USAGE = 'usage: npm run stats:rebuild [-- --batch N]   (N surveys per step at most, default 20000)';

/** `--batch N`: surveys per scan step; a smaller step holds the write lock for less time and takes longer in all. */
function batchOf(args: string[]): number {
  if (args.length === 0) return DEFAULT_BATCH;
  const n = Number(args[1]);
  if (args.length !== 2 || args[0] !== '--batch' || !Number.isInteger(n) || n < 1 || n > 1_000_000) throw new ConfigError(USAGE);
  return n;
}

/**
 * `npm run stats:rebuild`: recomputes the report counters from the surveys table, in REPORT_TZ,
 * beside the live ones while the service keeps running (src/surveys/counters/rebuild.ts).
 * Ctrl-C stops it between two steps; run it again to resume.
 */
async function run() {
  const batch = batchOf(process.argv.slice(2));
  // The install's generated PRIVACY_KEY (outside production, when unset), as npm start uses: a migration hashes addresses with it.
  const config = loadConfig(process.env, (file) => loadOrCreateCredentials(file).credentials);
  const db = createDb(config.database);
  const stopping = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stopping.abort());
  try {
    const started = Date.now();
    await withStartupLock(db, () => migrateLatest(db, { addressHash: addressHasher(config.privacyKey) }));
    let shown = started;
    const result = await rebuildOnline(db, config.reportTz, {
      batch,
      signal: stopping.signal,
      onStep: ({ surveys, cursor }) => {
        if (Date.now() - shown < 5_000) return;
        shown = Date.now();
        process.stdout.write(`${surveys} surveys counted, through ${cursor.toISOString()}\n`);
      },
    });
    if (result === 'busy') throw new ConfigError('another process is rebuilding the counters (it wrote a step within the last minute); it finishes on its own');
    if (result === 'stopped') {
      process.stdout.write('stopped between two steps; run it again to resume where it was\n');
      process.exitCode = 130;
      return;
    }
    process.stdout.write(`rebuilt ${result.rows} day counter rows from ${result.surveys} surveys in ${config.reportTz}, in ${result.steps} steps (${Date.now() - started} ms)\n`);
  } finally {
    await db.destroy();
  }
}

run().catch((err) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `rebuild failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
