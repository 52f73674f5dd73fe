import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { signBody } from '../../src/shared/signature';
import { PG_URL } from '../helpers/database';
import { freePort, lostPort, PORT_ATTEMPTS } from '../helpers/ports';
import { mulberry32 } from '../reports/seed';

// The compiled service (`npm run build` first), run as a real process the fault cases can kill.
const MAIN = path.join(__dirname, '../../dist/src/main.js');
export const SECRET = 'faults-webhook-secret-0123456789';
export const REPORTS_TOKEN = 'faults-reports-token-0123456789';
export const PUBLIC_URL = 'https://csat.example.test';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export { freePort };

/**
 * DELIVERY_LEASE_SECONDS of the fault cases: the rows a killed or cut-off process had claimed come
 * back after it. It must outlast any one send on a busy machine (claim, waiting for a database
 * connection, the SMTP dialogue, marking it sent): a lease that runs out mid-send lets the row be
 * claimed again and the email go out twice, which the cases rightly count as a duplicate.
 */
export const LEASE_SECONDS = 20;

/** Small and seeded (mulberry32), so a failing run can be repeated with FAULTS_SEED. */
export const seededRandom = mulberry32;

export type Service = {
  url: string;
  child: ChildProcess;
  output: { text: string };
  exited: Promise<void>;
  running(): boolean;
  /** Fails with the process's output when it has died on its own. */
  assertRunning(): void;
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/**
 * Spawns the service and waits until it says it is listening; fails with its output if it exits
 * first. If another process took env.PORT before the service could listen, it starts again on a
 * fresh port (the returned `url` says which). The bound is a safety net for a very busy machine.
 */
export async function startService(env: Record<string, string>, timeoutMs = 120_000): Promise<Service> {
  for (let attempt = 1; ; attempt += 1) {
    const service = await spawnService(attempt === 1 ? env : { ...env, PORT: String(await freePort()) }, timeoutMs);
    if (service !== 'lost port') return service;
    if (attempt >= PORT_ATTEMPTS) throw new Error(`the service lost its port to another process ${attempt} times`);
  }
}

async function spawnService(env: Record<string, string>, timeoutMs: number): Promise<Service | 'lost port'> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout.on('data', (d) => (output.text += d));
  child.stderr.on('data', (d) => (output.text += d));
  // 'close', not 'exit': only then has all the output been read.
  let closed = false;
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  void exited.then(() => (closed = true));
  let expectedDown = false;
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${env.PORT}`;
  const service: Service = {
    url,
    child,
    output,
    exited,
    running,
    assertRunning() {
      if (!expectedDown && !running()) throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) on its own:\n${output.text.slice(-4000)}`);
    },
    async kill() {
      expectedDown = true;
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      expectedDown = true;
      if (running()) child.kill('SIGTERM');
      await exited;
      return child.exitCode;
    },
  };
  // Its own word, not an answer on the port: a process that took the port could answer that.
  const listening = () => output.text.includes('Closeloop is listening');
  const deadline = Date.now() + timeoutMs;
  while (!listening() && !closed) {
    if (Date.now() > deadline) {
      await service.kill();
      throw new Error(`the service did not start listening within ${timeoutMs} ms:\n${output.text.slice(-4000)}`);
    }
    await sleep(25);
  }
  if (listening()) return service;
  if (lostPort(output.text)) return 'lost port';
  throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) before it listened:\n${output.text.slice(-4000)}`);
}

/** The variables every fault case's service runs with; `database` from freshDatabaseEnv. */
export function serviceEnv(database: Record<string, string>, port: number, extra: Record<string, string>): Record<string, string> {
  return {
    ...database,
    PORT: String(port),
    PUBLIC_URL,
    WEBHOOK_SECRET: SECRET,
    REPORTS_TOKEN,
    LOG_LEVEL: 'info', // startService waits for the "listening" line
    DELIVERY_POLL_MS: '50',
    DELIVERY_RETRY_BASE_SECONDS: '0.05',
    ...extra,
  };
}

/** The test's own connection to the service's database (its SQLite file, or its PostgreSQL schema). */
export function openDatabase(database: Record<string, string>): Knex {
  if (PG_URL) return knex({ client: 'pg', connection: PG_URL, searchPath: [database.DATABASE_SCHEMA], pool: { min: 0, max: 2 } });
  return knex({
    client: 'sqlite3',
    connection: { filename: database.DATABASE_URL.replace(/^sqlite:/, '') },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) =>
        conn.exec('PRAGMA busy_timeout = 5000', (err) => done(err, conn)),
    },
  });
}

export type Answer = { status: number; body: Record<string, unknown>; text: string; retryAfter: string | null };

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // HTML or CSV: the test reads `text`
  }
  return { status: res.status, body, text, retryAfter: res.headers.get('retry-after') };
}

/** POSTs a signed ticket-closed webhook. Throws (fetch failed) when nothing answers. */
export async function postWebhook(url: string, payload: unknown): Promise<Answer> {
  const body = JSON.stringify(payload);
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${url}/webhooks/ticket-closed`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(SECRET, ts, body) },
    body,
  });
  return answerOf(res);
}

export async function getReport(url: string, pathAndQuery: string, accept = 'application/json'): Promise<Answer> {
  return answerOf(await fetch(`${url}${pathAndQuery}`, { headers: { Authorization: `Bearer ${REPORTS_TOKEN}`, Accept: accept } }));
}

/** A ticket of the fault cases: its own customer address, one of a few agents, closed now. */
export function ticket(id: string, n: number) {
  return {
    ticket_id: id,
    customer: { email: `customer-${n}@example.com`, name: `Customer ${n}` },
    agent: { id: `agent-${n % 7}`, name: `Agent ${n % 7}` },
    team: 'billing',
    subject: `Fault case ticket ${n}`,
  };
}

/** Status → number of rows, for surveys or outbox. */
export async function statuses(db: Knex, table: 'surveys' | 'outbox'): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await db(table).groupBy('status').select('status').count({ n: '*' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Polls `check` until it holds, failing early if the service died; `what` explains a timeout. */
export async function waitUntil(service: Service | undefined, check: () => Promise<boolean> | boolean, timeoutMs: number, what: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    service?.assertRunning();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}`);
    await sleep(50);
  }
}
