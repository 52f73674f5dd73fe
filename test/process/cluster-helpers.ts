import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { signBody } from '../../src/shared/signature';
import { COUNTERS } from '../../src/surveys/counters/ledger';
import { dropDatabase, freshDatabaseEnv, PG_URL } from '../helpers/database';
import { startSmtpServer } from '../helpers/smtp';
import { freePorts, lostPort, PORT_ATTEMPTS } from '../helpers/ports';

// The compiled service (`npm run build` first), run as real processes sharing one PostgreSQL schema.
const MAIN = path.join(__dirname, '../../dist/src/main.js');
const SECRET = 'cluster-webhook-secret-0123456789';
export const PUBLIC_URL = 'https://csat.example.test';

export type Instance = { name: string; url: string; child: ChildProcess; output: { text: string }; exited: Promise<void>; expectedDown: boolean };

function spawnInstance(name: string, env: Record<string, string>): Instance {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout.on('data', (d) => (output.text += d));
  child.stderr.on('data', (d) => (output.text += d));
  // 'close', not 'exit': only then has all the output been read.
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { name, url: `http://127.0.0.1:${env.PORT}`, child, output, exited, expectedDown: false };
}

const isRunning = (i: Instance) => i.child.exitCode === null && i.child.signalCode === null;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Status → number of survey rows. */
export async function surveyStatuses(db: Knex): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await db('surveys').groupBy('status').select('status').count({ n: '*' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * Two instances A and B started at the same moment on one fresh schema (so both migrate at once),
 * one SMTP test server, and a knex connection to the same schema for the test's own checks. If
 * another process took a port before an instance could listen, both start again on fresh ports
 * and a fresh schema.
 */
export async function startCluster() {
  for (let attempt = 1; ; attempt += 1) {
    const cluster = await startClusterOnce();
    if (cluster !== 'lost port') return cluster;
    if (attempt >= PORT_ATTEMPTS) throw new Error(`an instance lost its port to another process ${attempt} times`);
  }
}

/**
 * DELIVERY_LEASE_SECONDS: B's claimed rows come back this long after it is killed. It must outlast any
 * one send on a busy machine (a connection wait, the SMTP dialogue, marking it sent), or a row is
 * claimed again mid-send and its email goes out twice in normal operation.
 */
const LEASE_SECONDS = 20;

async function startClusterOnce() {
  const smtp = await startSmtpServer();
  const database = freshDatabaseEnv(os.tmpdir());
  const [portA, portB] = await freePorts(2);
  const env = {
    PATH: process.env.PATH ?? '',
    ...database,
    SMTP_URL: smtp.url,
    WEBHOOK_SECRET: SECRET,
    DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS),
    RATE_LIMIT_PER_MINUTE: '1000000', // the test rates 360 times from one address
    DELIVERY_POLL_MS: '50',
    PUBLIC_URL,
    LOG_LEVEL: 'info', // start-up waits for the "listening" line
  };
  const a = spawnInstance('A', { ...env, PORT: String(portA) });
  const b = spawnInstance('B', { ...env, PORT: String(portB) });
  const db = knex({ client: 'pg', connection: PG_URL, searchPath: [database.DATABASE_SCHEMA], pool: { min: 0, max: 4 } });

  /** Polls `check`; fails at once, with its output, if an instance dies that the test did not kill. */
  async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string | Promise<string>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const died = [a, b].find((i) => !i.expectedDown && !isRunning(i));
      if (died) throw new Error(`instance ${died.name} exited (${died.child.exitCode ?? died.child.signalCode}):\n${died.output.text}`);
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${await what()}`);
      await sleep(20);
    }
  }

  // Its own word, not an answer on the port: a process that took the port could answer that.
  const isUp = (i: Instance) => i.output.text.includes('Closeloop is listening');

  const cluster = {
    a,
    b,
    smtp,
    db,
    waitUntil,

    /** Waits until there are `count` surveys and every one is marked sent. */
    async waitForAllSent(count: number, timeoutMs: number): Promise<void> {
      const allSent = async () => {
        const statuses = await surveyStatuses(db);
        return statuses.sent === count && Object.keys(statuses).length === 1;
      };
      await waitUntil(allSent, timeoutMs, async () => `${count} surveys all sent; statuses now ${JSON.stringify(await surveyStatuses(db))}`);
    },

    async kill(i: Instance): Promise<void> {
      i.expectedDown = true;
      i.child.kill('SIGKILL');
      await i.exited;
    },

    async stop(): Promise<void> {
      await Promise.all([a, b].filter(isRunning).map((i) => cluster.kill(i)));
      await smtp.close();
      await db.destroy();
      await dropDatabase(database);
    },
  };

  try {
    await waitUntil(() => isUp(a) && isUp(b), 120_000, () => 'both instances to say they are listening');
  } catch (err) {
    await cluster.stop();
    await Promise.all([a.exited, b.exited]); // their whole output
    if (lostPort(a.output.text) || lostPort(b.output.text)) return 'lost port';
    throw err;
  }
  return cluster;
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

type Answer = { status: number; body: Record<string, unknown> };

/** The status and JSON body of an answer; an HTML error page (rating routes) is kept as text. */
async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { text: text.slice(0, 300) } };
  }
}

export async function postWebhook(instance: Instance, payload: unknown, timestamp = Math.floor(Date.now() / 1000)): Promise<Answer> {
  const body = JSON.stringify(payload);
  const ts = String(timestamp);
  const res = await fetch(`${instance.url}/webhooks/ticket-closed`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(SECRET, ts, body) },
    body,
  });
  return answerOf(res);
}

/** What the rating page posts, from the service's own origin (the POST is same-origin only). */
export async function postRating(instance: Instance, token: string, rating: { score?: number; comment?: string }): Promise<Answer> {
  const res = await fetch(`${instance.url}/r/${token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: new URL(PUBLIC_URL).origin },
    body: JSON.stringify(rating),
  });
  return answerOf(res);
}

type Row = Record<string, unknown>;
const isCounter = (column: string) => (COUNTERS as readonly string[]).includes(column);

/** A table's counter rows with at least one non-zero counter, sorted by their other columns. */
async function counterRows(db: Knex, table: string): Promise<Row[]> {
  const rows: Row[] = await db(table).select('*');
  const key = (r: Row) => JSON.stringify(Object.entries(r).filter(([column]) => !isCounter(column)).sort());
  return rows.filter((r) => Object.entries(r).some(([column, value]) => isCounter(column) && value !== 0)).sort((x, y) => (key(x) < key(y) ? -1 : 1));
}

export const counterSnapshot = async (db: Knex) => ({
  days: await counterRows(db, 'agent_day_stats'),
  months: await counterRows(db, 'agent_month_stats'),
  rollup: await counterRows(db, 'agent_rollup'),
});
