import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startNode, stop, waitForHttp, type Started } from './processes';
import { memoryOf } from './usage';

export type Service = Started & { url: string; memory: () => ReturnType<typeof memoryOf>; stop: () => Promise<void> };

/** Secrets of this run only; the service refuses to start in production without them. */
export const SECRETS = {
  webhook: crypto.randomBytes(24).toString('hex'),
  reports: crypto.randomBytes(24).toString('hex'),
  admin: crypto.randomBytes(24).toString('hex'),
  privacy: crypto.randomBytes(24).toString('hex'),
  metrics: crypto.randomBytes(24).toString('hex'),
};

/** The service's SQLite file, when it runs on SQLite. */
export const sqliteFile = (dir: string) => path.join(dir, 'bench.sqlite');

/**
 * The real service: the compiled dist/src/main.js in a process of its own, started the way
 * `npm start` starts it, on a SQLite file in `dir` (unless `env` names another database) and
 * mailing to the sink. The rate limits are lifted because every request comes from one address;
 * `env` adds or overrides variables.
 * Only these variables reach it, so nothing from the caller's shell changes what is measured.
 * With `profileDir`, node writes a CPU profile there when the service exits.
 */
export async function startService(o: { dir: string; sinkPort: number; env?: Record<string, string>; profileDir?: string; onSpawn?: (pid: number) => void }): Promise<Service> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info', // as an operator runs it (the default): a line per request, to a pipe the bench reads (processes.ts)
    PORT: String(port),
    DATABASE_URL: `sqlite:${sqliteFile(o.dir)}`,
    SMTP_URL: `smtp://127.0.0.1:${o.sinkPort}`,
    SMTP_ALLOW_PLAINTEXT: 'true', // the sink offers no TLS, like the bare pool the delivery figure is compared with
    MAIL_DIR: path.join(o.dir, 'outbox'),
    WEBHOOK_SECRET: SECRETS.webhook,
    REPORTS_TOKEN: SECRETS.reports,
    ADMIN_TOKEN: SECRETS.admin,
    PRIVACY_KEY: SECRETS.privacy,
    RATE_LIMIT_PER_MINUTE: '1000000',
    WEBHOOK_AUTH_FAILURES_PER_MINUTE: '1000000',
    ...o.env,
  };
  if (o.profileDir) fs.mkdirSync(o.profileDir, { recursive: true });
  // The flags of `npm start` (package.json), so the bench measures what operators run.
  const nodeArgs = ['--max-semi-space-size=4', '--enable-source-maps', ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [])];
  const started = startNode(path.join(__dirname, '..', '..', 'src', 'main.js'), { env, nodeArgs });
  o.onSpawn?.(started.pid); // its outbox worker may send before it answers /readyz
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, started.child);
  return {
    ...started,
    url,
    memory: () => memoryOf(started.pid),
    async stop() {
      // A load run ends with requests still queued for the database; /readyz queues behind them.
      // Stopping only then keeps their aborted answers out of the log.
      await waitForHttp(`${url}/readyz`, started.child).catch(() => {});
      await stop(started.child);
    },
  };
}
