import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signBody } from '../../src/webhooks/signature';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { ticketPayload } from '../helpers/boot';
import { waitFor } from '../helpers/wait';

// Runs the compiled service (npm test builds it first) as a real process.
const MAIN = path.join(__dirname, '../../dist/src/main.js');

function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (output.stdout += d));
  child.stderr.on('data', (d) => (output.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

describe('the service as a process', () => {
  let dir: string;
  let smtp: SmtpTestServer;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-proc-'));
    smtp = await startSmtpServer();
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    await smtp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when started on defaults, then it migrates, generates this install\'s credentials beside the database (owner-only), says where without printing them, serves a webhook signed with them and stops cleanly on SIGTERM', async () => {
    const port = freePort();
    const svc = startService({ PORT: String(port), DATABASE_URL: `sqlite:${dir}/db/closeloop.sqlite`, SMTP_URL: smtp.url });
    child = svc.child;
    // The credentials line follows the listening line; stdout may deliver them in separate chunks.
    await waitFor(() => svc.output.stdout.includes('Closeloop is listening') && svc.output.stdout.includes('credentials for this install'), 15_000);
    expect(svc.output.stdout).toContain(`"url":"http://localhost:${port}"`);
    expect(svc.output.stdout).toContain(`SMTP 127.0.0.1:${smtp.port}`);
    expect(fs.existsSync(`${dir}/db/closeloop.sqlite`)).toBe(true);
    const file = `${dir}/db/credentials.json`;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(svc.output.stdout).toContain(`generated into ${file}`);
    for (const value of Object.values(credentials)) expect(svc.output.stdout).not.toContain(value as string);
    const secret = credentials.webhook_secret as string;

    const body = JSON.stringify(ticketPayload());
    const ts = String(Math.floor(Date.now() / 1000));
    const res = await fetch(`http://127.0.0.1:${port}/webhooks/ticket-closed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(secret, ts, body) },
      body,
    });
    expect(res.status).toBe(202);
    await smtp.waitForMessages(1);

    child.kill('SIGTERM');
    expect(await svc.exited).toBe(0);
    expect(svc.output.stdout).toContain('"msg":"stopped"');
    expect(svc.output.stdout).not.toContain('ann@example.com');
  });

  it('when a variable is invalid, then the process exits 1 naming it', async () => {
    const svc = startService({ PORT: 'not-a-port', DATABASE_URL: `sqlite:${dir}/x.sqlite` });
    child = svc.child;
    expect(await svc.exited).toBe(1);
    expect(svc.output.stderr).toContain('PORT:');
  });

  it('when NODE_ENV=production without WEBHOOK_SECRET, then it refuses to start', async () => {
    const svc = startService({ NODE_ENV: 'production', DATABASE_URL: `sqlite:${dir}/x.sqlite` });
    child = svc.child;
    expect(await svc.exited).toBe(1);
    expect(svc.output.stderr).toContain('WEBHOOK_SECRET: is required when NODE_ENV=production');
  });
});
