import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ParsedMail } from 'mailparser';
import axe from 'axe-core';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/shared/db';
import { signBody } from '../../src/shared/signature';
import { waitFor } from '../helpers/wait';
import { freePort, lostPort, PORT_ATTEMPTS } from '../helpers/ports';

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

/**
 * The compiled service (npm test builds dist/ first) as a real child process whose public URL is
 * its own loopback address, so the links in its emails lead a browser straight back to it.
 */
export async function startService(env: Record<string, string>) {
  for (let attempt = 1; ; attempt += 1) {
    const started = await spawnService(env);
    if (started !== 'lost port') return started;
    if (attempt >= PORT_ATTEMPTS) throw new Error(`the service lost its port to another process ${attempt} times`);
  }
}

async function spawnService(env: Record<string, string>) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = { ...env, PORT: String(port), PUBLIC_URL: url };
  const child: ChildProcess = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d) => (output.stdout += d));
  child.stderr?.on('data', (d) => (output.stderr += d));
  // 'close', not 'exit': only then has all the output been read.
  let closed = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exited.then(() => (closed = true));
  const listening = () => output.stdout.includes('Closeloop is listening');
  // A safety net for a very busy machine: start-up normally takes a second or two.
  await waitFor(() => listening() || closed, 120_000).catch(() => undefined);
  if (!listening()) {
    child.kill('SIGKILL');
    await exited;
    if (lostPort(output.stdout + output.stderr)) return 'lost port';
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

/** The browser suites' describe: it runs where chromium is (and always under CI=true, where a missing one fails), else skips saying why. */
export function describeBrowser(what: string): jest.Describe {
  const run = hasChromium || mustRun;
  if (!run) console.warn(`Skipping ${what}: ${CHROMIUM} is missing (apt-get install chromium; CI=true makes this a failure).`);
  return run ? describe : describe.skip;
}

/** Everything a page said to its console, uncaught errors and CSP refusals included: the diagnosis when a flow stalls. */
export function watch(page: Page): string[] {
  const said: string[] = [];
  page.on('console', (m) => said.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => said.push(`pageerror: ${e.message}`));
  return said;
}

/** The lines of `watch` that mean trouble: an uncaught error or a Content-Security-Policy refusal. */
export const troubles = (said: string[]) => said.filter((line) => /Content Security Policy|pageerror/i.test(line));

/** A full-page screenshot into test-artifacts/ (git-ignored). */
export const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });

/** Submits a form by clicking and waits for the page it leads to (a 303 back). */
export async function submitAndLoad(page: Page, selector: string) {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

/** An HTTP Basic header, for a browser context that sends a token up front (extraHTTPHeaders): Playwright's httpCredentials wait for a challenge, and a browser without credentials is sent to /login. */
export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The addresses a parsed email went to. */
export const addressesOf = (m: ParsedMail) => [m.to ?? []].flat().flatMap((a) => a.value.map((v) => v.address));

/**
 * The page's serious and critical accessibility violations by axe-core (WCAG 2 A and AA rules),
 * as `rule: the first offending element` lines. axe is injected through the devtools protocol, so
 * the page's strict Content-Security-Policy stays as it is.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const result = await page.evaluate<axe.AxeResults>("axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })");
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes[0]?.target.join(' ') ?? ''}`);
}
