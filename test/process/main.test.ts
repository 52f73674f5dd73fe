import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { signBody } from '../../src/shared/signature';
import { startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { ticketPayload } from '../helpers/boot';
import { waitFor } from '../helpers/wait';
import { freePort, lostPort, PORT_ATTEMPTS } from '../helpers/ports';

// Runs the compiled service (npm test builds it first) as a real process.
const MAIN = path.join(__dirname, '../../dist/src/main.js');

function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (output.stdout += d));
  child.stderr.on('data', (d) => (output.stderr += d));
  // 'close', not 'exit': only then has all the output been read (at 'exit' the last lines can still be in the pipe).
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output, exited };
}

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
    let port = 0;
    let svc: ReturnType<typeof startService> | undefined;
    for (let attempt = 1; !svc; attempt += 1) {
      port = await freePort();
      const started = startService({ PORT: String(port), DATABASE_URL: `sqlite:${dir}/db/closeloop.sqlite`, SMTP_URL: smtp.url });
      child = started.child;
      let closed = false;
      void started.exited.then(() => (closed = true));
      // The warnings follow the "listening" line, and the pipe may hand them over in a later chunk: wait for what is checked.
      await waitFor(() => started.output.stdout.includes('credentials') || closed, 60_000);
      if (started.output.stdout.includes('credentials')) svc = started;
      else if (!lostPort(started.output.stdout + started.output.stderr) || attempt >= PORT_ATTEMPTS) throw new Error(`the service did not start:\n${started.output.stdout}\n${started.output.stderr}`);
    }
    expect(svc.output.stdout).toContain('Closeloop is listening');
    expect(svc.output.stdout).toContain(`"url":"http://localhost:${port}"`);
    expect(svc.output.stdout).toContain(`SMTP 127.0.0.1:${smtp.port}`);
    expect(fs.existsSync(`${dir}/db/closeloop.sqlite`)).toBe(true);
    const file = `${dir}/db/credentials.json`;
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
    // "generated into <file>"; after a restart on another port, "using … from <file>".
    expect(svc.output.stdout).toMatch(new RegExp(`(generated into|generated credentials from) ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
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

    svc.child.kill('SIGTERM');
    expect(await svc.exited).toBe(0);
    expect(svc.output.stdout).toContain('"msg":"stopped"');
    expect(svc.output.stdout).not.toContain('ann@example.com');
  });

  it('when another process holds the port, then it exits 1 saying so, rather than run without listening', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as net.AddressInfo).port;
      const svc = startService({ PORT: String(port), DATABASE_URL: `sqlite:${dir}/x.sqlite`, MAIL_DIR: `${dir}/outbox` });
      child = svc.child;
      expect(await svc.exited).toBe(1);
      expect(svc.output.stdout).toMatch(/"code":"EADDRINUSE".*"msg":"cannot listen"/);
      expect(svc.output.stdout).not.toContain('Closeloop is listening');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
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
