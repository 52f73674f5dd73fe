import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../../src/shared/db';
import { signBody } from '../../src/shared/signature';
import { rebuildStats } from '../../src/surveys/counters/rebuild';
import { ticketPayload } from '../helpers/boot';
import { dropDatabase, emptyDatabase, freshDatabaseEnv } from '../helpers/database';
import { freePort, lostPort, PORT_ATTEMPTS } from '../helpers/ports';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { waitFor } from '../helpers/wait';

// The compiled service and CLI (npm test builds them first), run as real processes on one database.
const DIST = path.join(__dirname, '../../dist/src');
const SECRET = 'rebuild-webhook-secret-0123456789';
const REPORTS_TOKEN = 'rebuild-reports-token-0123456789';
const DAY = 86_400_000;
/** Surveys before the rebuild begins: enough for some hundred steps of 10, so the senders' writes land between them. */
const SEEDED = 2_000;

function run(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(DIST, script), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  child.stdout.on('data', (d) => (output.text += d));
  child.stderr.on('data', (d) => (output.text += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output, exited };
}

/** Counter rows of the three tables, each table sorted, for comparing two states. */
async function counterState(db: Db) {
  const state: Record<string, unknown[]> = {};
  for (const table of ['agent_day_stats', 'agent_month_stats', 'agent_rollup']) {
    const rows: Array<Record<string, unknown>> = await db(table).select('*');
    state[table] = rows.map((r) => JSON.stringify(Object.entries(r).sort())).sort();
  }
  return state;
}

describe('npm run stats:rebuild while a load test writes through the running service', () => {
  let dir: string;
  let env: Record<string, string>;
  let smtp: SmtpTestServer;
  let service: ReturnType<typeof run> | undefined;
  let db: Db | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-rebuild-'));
    smtp = await startSmtpServer();
    env = freshDatabaseEnv(dir);
    db = createDb(await emptyDatabase(env));
  });
  afterEach(async () => {
    service?.child.kill('SIGKILL');
    await service?.exited;
    await db?.destroy();
    await smtp.close();
    await dropDatabase(env);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const commonEnv = () => ({ ...env, LOCAL_CREDENTIALS_FILE: path.join(dir, 'credentials.json'), WEBHOOK_SECRET: SECRET, REPORTS_TOKEN: REPORTS_TOKEN, PUBLIC_URL: 'https://csat.example.test', LOG_LEVEL: 'info', NODE_ENV: 'test' });

  /** Starts the service (fresh port, again if another process took it); answers its port once it listens. */
  async function startService(extra: Record<string, string>): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      service = run('main.js', [], { ...commonEnv(), PORT: String(port), SMTP_URL: smtp.url, DELIVERY_POLL_MS: '20', RATE_LIMIT_PER_MINUTE: '1000000', ...extra });
      await waitFor(() => service!.output.text.includes('Closeloop is listening') || service!.child.exitCode !== null, 60_000);
      if (service.output.text.includes('Closeloop is listening')) return port;
      if (!lostPort(service.output.text) || attempt >= PORT_ATTEMPTS) throw new Error(`the service did not start:\n${service.output.text}`);
    }
  }

  /** Posts one signed ticket close, closed within the last `days` days. */
  async function postClose(port: number, n: number, days: number): Promise<number> {
    const body = JSON.stringify(
      ticketPayload({
        ticket_id: `R-${n}`,
        closed_at: new Date(Date.now() - Math.floor(Math.random() * days * DAY)).toISOString(),
        customer: { email: `customer${n}@example.com`, name: `Customer ${n}` },
        agent: { id: `a-${n % 7}`, name: `Agent ${n % 7}`, email: `a${n % 7}@support.example` },
        team: ['billing', 'tech'][n % 2],
      }),
    );
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/ticket-closed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(SECRET, ts, body) },
      body,
    });
    return res.status;
  }

  it('when the service starts with another REPORT_TZ, then it listens at once, rebuilds the counters beside the live ones, says so in its log, and its reports answer in the new zone after', async () => {
    let port = await startService({ REPORT_TZ: 'UTC' });
    for (let n = 0; n < 300; n++) expect([200, 202]).toContain(await postClose(port, n, 100));
    service!.child.kill('SIGTERM');
    expect(await service!.exited).toBe(0);

    port = await startService({ REPORT_TZ: 'America/Sao_Paulo' });
    await waitFor(() => service!.output.text.includes('report counters rebuilt'), 60_000);
    expect(service!.output.text).toMatch(/"fromTz":"UTC".*rebuilding the report counters beside the live ones/);
    // Listening came first: the rebuild runs beside the service, not before it.
    expect(service!.output.text.indexOf('Closeloop is listening')).toBeLessThan(service!.output.text.indexOf('report counters rebuilt'));
    const res = await fetch(`http://127.0.0.1:${port}/reports/agents?from=2025-01-01&to=2027-12-31`, { headers: { Authorization: `Bearer ${REPORTS_TOKEN}`, Accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tz: string }).tz).toBe('America/Sao_Paulo');
    expect(await db!('report_meta').where({ key: 'stats_tz' }).first('value')).toEqual({ value: 'America/Sao_Paulo' });
  });

  it('when the counters are rebuilt for a new REPORT_TZ in small steps under 8 concurrent webhook senders and the delivery worker, then every webhook is answered, every survey is counted once, and the counters equal a rebuild done afterwards in quiet', async () => {
    const common = commonEnv();
    const port = await startService({ REPORT_TZ: 'UTC' });
    // Tickets closed over the last 300 days, in random order: a rebuild's cursor has surveys both behind and ahead of it.
    let sent = 0;
    const statuses: number[] = [];
    const post = async () => void statuses.push(await postClose(port, sent++, 300));
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (sent < SEEDED) await post();
    }));
    await waitFor(async () => Number((await db!('surveys').where({ status: 'sent' }).count({ n: '*' }))[0].n) > 100, 60_000);

    let loading = true;
    const senders = Array.from({ length: 8 }, async () => {
      while (loading) await post();
    });
    const cli = run('stats-cli.js', ['--batch', '10'], { ...common, REPORT_TZ: 'Europe/Berlin' });
    const code = await cli.exited;
    const duringRebuild = sent - SEEDED;
    for (let i = 0; i < 50; i++) await post(); // and after it, while the senders still run
    loading = false;
    await Promise.all(senders);

    expect({ code, output: cli.output.text }).toEqual({ code: 0, output: expect.stringMatching(/^rebuilt \d+ day counter rows from \d+ surveys in Europe\/Berlin, in \d+ steps/m) });
    expect(Number(cli.output.text.match(/in (\d+) steps/)![1])).toBeGreaterThan(5);
    expect(duringRebuild).toBeGreaterThan(20); // the load really ran while it rebuilt
    expect(statuses.filter((s) => s !== 202 && s !== 200)).toEqual([]);

    // Quiet: stop the service (its in-flight sends end first), then compare with a rebuild nobody writes beside.
    service!.child.kill('SIGTERM');
    expect(await service!.exited).toBe(0);
    const surveys = Number((await db!('surveys').count({ n: '*' }))[0].n);
    expect(surveys).toBe(sent);
    const [{ counted }] = await db!('agent_rollup')
      .whereRaw('length(period) = 4')
      .select(db!.raw('SUM(sent + suppressed + failed + cancelled) AS counted'));
    const scheduled = Number((await db!('surveys').where({ status: 'scheduled' }).count({ n: '*' }))[0].n);
    expect(Number(counted)).toBe(surveys - scheduled); // a survey waiting for its email is in no counter yet
    expect(await db!('report_meta').where({ key: 'stats_tz' }).first('value')).toEqual({ value: 'Europe/Berlin' });

    const online = await counterState(db!);
    await rebuildStats(db!, 'Europe/Berlin');
    expect(await counterState(db!)).toEqual(online);
  });
});
