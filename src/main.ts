import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config';
import { loadOrCreateCredentials } from './credentials';
import { DefinitionsError } from './surveys/definitions';
import { createDb, describeDatabase, withStartupLock } from './shared/db';
import { migrateLatest } from './schema';
import { batchedStdout, createLogger, type Logger } from './shared/logger';
import { systemClock } from './shared/clock';
import { createServices, type Services } from './services';
import { createApp } from './app';
import { keepRebuilding, statsReadiness } from './surveys/counters/rebuild';
import { startReceiptPruning, startRetention } from './privacy/retention';
import { addressHasher } from './shared/address-hash';

const SHUTDOWN_BOUND_MS = 15_000;

async function main() {
  let config;
  let credentials: ReturnType<typeof loadOrCreateCredentials> | undefined;
  try {
    config = loadConfig(process.env, (file) => {
      try {
        return (credentials = loadOrCreateCredentials(file)).credentials;
      } catch (err) {
        throw new ConfigError(`LOCAL_CREDENTIALS_FILE: ${(err as Error).message}`);
      }
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, batchedStdout());
  const db = createDb(config.database, logger);
  // Instances starting together take turns here (PostgreSQL advisory lock); the later ones find the work done.
  await withStartupLock(db, async () => {
    const applied = await migrateLatest(db, { addressHash: addressHasher(config.privacyKey) });
    if (applied.length) logger.info({ applied }, 'migrations applied');
  });
  // After a REPORT_TZ change the counters are rebuilt beside the live ones while the service runs (counters/rebuild.ts).
  const stats = await statsReadiness(db, config.reportTz);
  const rebuilding = stats.status === 'rebuild' ? keepRebuilding(db, config.reportTz, logger.child({ component: 'counters', fromTz: stats.from })) : undefined;

  const services = createServices({ config, db, logger, clock: systemClock });
  const server = createApp(services).listen(config.port, (err?: Error) => {
    // Express 5 hands a listen error (a port already in use) to this callback instead of throwing it.
    if (err) {
      logger.fatal({ port: config.port, code: (err as NodeJS.ErrnoException).code, error: err.message }, 'cannot listen');
      process.exit(1);
    }
    logger.info({ url: config.publicUrl, port: config.port, database: describeDatabase(config.database), mail: services.mailer.describe() }, 'Closeloop is listening');
    if (credentials) {
      // Never the values: where they are. A new install says so once, later starts remind.
      const unset = [config.usingDevSecret && 'WEBHOOK_SECRET', config.usingDevReportsToken && 'REPORTS_TOKEN', config.usingDevAdminToken && 'ADMIN_TOKEN', config.usingDevPrivacyKey && 'PRIVACY_KEY'].filter(Boolean);
      logger.warn(
        { file: credentials.file, unset },
        credentials.created
          ? `credentials for this install were generated into ${credentials.file} (readable by its owner only): read them there; set the variables to use your own`
          : `using this install's generated credentials from ${credentials.file} for the unset variables`,
      );
    }
  });
  services.worker.start();
  services.ratings.startDeciding();
  // The hook outbox carries rating events and alerts (ALERT_WEBHOOK_URL).
  if (config.ratingWebhooks.urls.length || config.alertWebhookUrl) services.hooks.start();
  // Reminders wait in their outbox after REMINDER_AFTER_HOURS is set back to 0 (and go when it is set again); lead alerts go whenever leads are configured.
  if (config.reminderAfterHours > 0) services.reminders.start();
  if (Object.keys(services.definitions.teams).length || services.definitions.default_leads) services.leadAlerts.start();
  const stopRetention = startRetention({ retain: services.privacy.retain, logger: logger.child({ component: 'retention' }), days: config.retentionDays });
  const stopPruning = startReceiptPruning({ prune: services.surveys.pruneReceipts, logger: logger.child({ component: 'retention' }) });
  // Ended sessions and links, and audit events past AUDIT_RETENTION_DAYS, go hourly too.
  const stopSweeps = [
    startReceiptPruning({ prune: services.signin.sweep, logger: logger.child({ component: 'retention' }), what: 'ended sessions and sign-in links' }),
    startReceiptPruning({ prune: services.audit.prune, logger: logger.child({ component: 'retention' }), what: 'old audit events' }),
  ];
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (stopRetention(), stopPruning(), stopSweeps.forEach((stop) => stop()), shutdown(signal, server, services, logger, rebuilding && (() => rebuilding.stop()))));
}

/** Stop accepting, let in-flight requests and the in-flight send finish, close the pool; exit within a bound. */
async function shutdown(signal: string, server: Server, services: Services, logger: Logger, stopRebuilding?: () => Promise<void>) {
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_BOUND_MS).unref();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await Promise.all([closed, services.worker.stop(), services.hooks.stop(), services.reminders.stop(), services.leadAlerts.stop(), services.ratings.stopDeciding(), stopRebuilding?.()]);
  services.mailer.close();
  await services.db.destroy();
  logger.info('stopped');
  process.exit(0);
}

main().catch((err) => {
  if (err instanceof DefinitionsError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Closeloop failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
