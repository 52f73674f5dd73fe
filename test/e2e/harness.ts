import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/shared/db';
import { signBody } from '../../src/webhooks/signature';
import { waitFor } from '../helpers/wait';

/** Debian's chromium package (.ci/run apt-installs it). Playwright never downloads a browser here. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
/** CI installs chromium, so there a missing browser is a failure; on a developer machine it is a skip. */
export const mustRun = process.env.CI === 'true';

export const ARTIFACTS = path.join(__dirname, '../../test-artifacts');
const MAIN = path.join(__dirname, '../../dist/src/main.js');

export function launchChromium(): Promise<Browser> {
  if (!hasChromium) throw new Error(`${CHROMIUM} is missing: CI=true requires it (.ci/run installs Debian's chromium with apt-get)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** A port nobody listens on right now: the OS picks one, we let it go and hand it to the service. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The compiled service (npm test builds dist/ first) as a real child process whose public URL is
 * its own loopback address, so the links in its emails lead a browser straight back to it.
 */
export async function startService(env: Record<string, string>) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = { ...env, PORT: String(port), PUBLIC_URL: url };
  const child: ChildProcess = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => (output.stdout += d));
  child.stderr?.on('data', (d) => (output.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = () => output.stdout.includes('Closeloop is listening');
  await waitFor(() => listening() || child.exitCode !== null, 15_000).catch(() => undefined);
  if (!listening()) {
    child.kill('SIGKILL');
    throw new Error(`the service did not start:\n${output.stdout}\n${output.stderr}`);
  }
  // The test reads the same database from the side, to check what was stored rather than what a page says.
  const db: Db = createDb(loadConfig(fullEnv).database);

  const postWebhook = (secret: string, payload: unknown) => {
    const body = JSON.stringify(payload);
    const ts = String(Math.floor(Date.now() / 1000));
    return fetch(`${url}/webhooks/ticket-closed`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(secret, ts, body) },
      body,
    });
  };

  return {
    url,
    output,
    db,
    postWebhook,
    async stop() {
      await db.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export type ServiceProcess = Awaited<ReturnType<typeof startService>>;
