import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createDb } from '../../src/shared/db';
import { migrateLatest } from '../../src/schema';
import { dropDatabase, freshDatabaseEnv } from './database';
import { ensureStats } from '../../src/surveys/counters/rebuild';
import { createLogger, type Logger } from '../../src/shared/logger';
import { createServices } from '../../src/services';
import { createApp } from '../../src/app';
import { signBody } from '../../src/shared/signature';
import type { Clock } from '../../src/shared/clock';

export const TEST_SECRET = 'test-webhook-secret-0123456789';
export const PUBLIC_URL = 'https://csat.example.test';

/** A clock the test moves by hand. */
export function manualClock(start = new Date()): Clock & { advance(ms: number): void; set(d: Date): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => (now += ms), set: (d) => (now = d.getTime()) };
}

/** The whole service on a fresh SQLite file in a temp folder; the worker is driven by the test unless started. */
export async function bootApp(env: Record<string, string> = {}, clock: Clock = { now: () => new Date() }, logger: Logger = createLogger('silent')) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-test-'));
  const database = freshDatabaseEnv(dir);
  const config = loadConfig({
    NODE_ENV: 'test',
    PUBLIC_URL,
    ...database,
    MAIL_DIR: path.join(dir, 'outbox'),
    WEBHOOK_SECRET: TEST_SECRET,
    DELIVERY_RETRY_BASE_SECONDS: '0.05',
    DELIVERY_POLL_MS: '20',
    // Tests send many requests from one address; test/shared/security.test.ts checks the limits themselves.
    RATE_LIMIT_PER_MINUTE: '1000000',
    WEBHOOK_AUTH_FAILURES_PER_MINUTE: '1000000',
    ...env,
  });
  const db = createDb(config.database, logger);
  let services;
  try {
    await migrateLatest(db);
    await ensureStats(db, config.reportTz);
    services = createServices({ config, db, clock, logger });
  } catch (err) {
    await db.destroy(); // a bad SURVEYS_FILE must not leave the database open and hang jest
    await dropDatabase(database);
    throw err;
  }
  const app = createApp(services);

  const postWebhook = (body: unknown, opts: { secret?: string; timestamp?: number; rawBody?: string } = {}) => {
    const raw = opts.rawBody ?? JSON.stringify(body);
    const ts = String(opts.timestamp ?? Math.floor(clock.now().getTime() / 1000));
    return request(app)
      .post('/webhooks/ticket-closed')
      .set('Content-Type', 'application/json')
      .set('X-Closeloop-Timestamp', ts)
      .set('X-Closeloop-Signature', signBody(opts.secret ?? TEST_SECRET, ts, raw))
      .send(raw);
  };

  const count = async (table: string): Promise<number> => {
    const row = await db(table).count<{ n: number }[]>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  };

  return {
    app,
    db,
    config,
    services,
    dir,
    postWebhook,
    count,
    async close() {
      await services.ratings.stopDeciding();
      await services.worker.stop();
      await services.hooks.stop();
      services.mailer.close();
      await db.destroy();
      await dropDatabase(database);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof bootApp>>;

let ticketSeq = 0;
/** A valid generic webhook payload; override any field. */
export function ticketPayload(overrides: Record<string, unknown> = {}) {
  ticketSeq += 1;
  return {
    ticket_id: `T-${process.pid}-${ticketSeq}`,
    closed_at: '2026-11-20T10:00:00Z',
    customer: { email: 'ann@example.com', name: 'Ann' },
    agent: { id: 'a-7', name: 'Ada Lovelace', email: 'ada@support.example' },
    team: 'billing',
    subject: 'Refund for order 42',
    ...overrides,
  };
}
