/**
 * Single sign-on, end to end, with real parts: a real OpenID Connect provider in its own process
 * (panva's oidc-provider, helpers/oidc-provider.mjs, with its development sign-in pages), the
 * service as a real process configured with OIDC_ISSUER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET,
 * and people in Chromium.
 *
 * - A signed-out browser asking for the dashboard lands on /login, which offers "Sign in with SSO".
 * - The billing lead signs in at the provider and lands on the dashboard; /me says who they are;
 *   the audit trail says "signin" by sso. The code was traded with PKCE (the provider requires it)
 *   and the email read from the provider's userinfo endpoint (it is not in the ID token).
 * - Refused, with a page that says why, no session and a failed sign-in in the audit trail: an
 *   account with no Closeloop user; an email the provider has not verified; a person who cancels at
 *   the provider; a callback with a state that is not the one this browser started with; the same
 *   callback URL opened again (its code used).
 *
 * The skip rule is the other browser suites': without /usr/bin/chromium these tests skip, unless
 * CI=true, where they fail. Screenshots go to test-artifacts/ (git-ignored).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';
import { waitFor } from '../helpers/wait';
import { accessibilityProblems, ARTIFACTS, describeBrowser, launchChromium, shot, startService, troubles, watch, type ServiceProcess } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const CLIENT = { id: 'closeloop-e2e', secret: 'e2e-client-secret-0123456789' };
const LEAD = { email: 'lena@support.example', name: 'Lena Lead' };
/** jest's bound on one step: a safety net on a busy machine, above the bounded waits inside it. */
const STEP_MS = 300_000;
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

const describeE2e = describeBrowser('the single sign-on browser tests');

/** The provider as a child process; answers its issuer URL and a way to register the service's callback. */
async function startProvider() {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '../helpers/oidc-provider.mjs')], {
    env: { PATH: process.env.PATH, CLIENT_ID: CLIENT.id, CLIENT_SECRET: CLIENT.secret },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const said: Array<Record<string, unknown>> = [];
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    output += `${line}\n`;
    if (line.startsWith('{')) said.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const saying = async (key: string) => {
    await waitFor(() => said.some((s) => key in s) || child.exitCode !== null, 60_000).catch(() => undefined);
    const found = said.find((s) => key in s);
    if (!found) throw new Error(`the OIDC provider did not start:\n${output}`);
    return found[key];
  };
  const issuer = String(await saying('issuer'));
  return {
    issuer,
    async register(redirectUri: string) {
      child.stdin!.write(`${JSON.stringify({ redirectUri })}\n`);
      await saying('ready');
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

describeE2e('signing in with SSO through a real OpenID Connect provider', () => {
  let dir: string;
  let dbEnv: Record<string, string>;
  let provider: Awaited<ReturnType<typeof startProvider>> | undefined;
  let svc: ServiceProcess | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium(); // first: under CI=true a missing chromium is the failure to report
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-sso-'));
    dbEnv = freshDatabaseEnv(dir);
    provider = await startProvider();
    svc = await startService({ ...dbEnv, ADMIN_TOKEN, OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT.id, OIDC_CLIENT_SECRET: CLIENT.secret });
    await provider.register(`${svc.url}/login/sso/callback`);
    const added = await fetch(`${svc.url}/api/users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...LEAD, role: 'lead', teams: ['billing'] }),
    });
    expect(added.status).toBe(201);
  }, 240_000); // a safety net: a browser, a provider and a service start in seconds, but a busy machine can slow them many times

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    await provider?.stop();
    if (dbEnv) await dropDatabase(dbEnv);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // The client secret is the service's to keep: it must never reach its log.
    if (svc) expect(svc.output.stdout + svc.output.stderr).not.toContain(CLIENT.secret);
  });

  const sessions = async () => Number((await svc!.db('sessions').count({ n: '*' }).first())?.n);
  const audit = (action: string) => svc!.db('audit_events').where({ action }).orderBy('id').select('actor', 'detail');
  const detailOf = (row: { detail: unknown }) => (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>;

  /** From /login, "Sign in with SSO", then at the provider: its sign-in page (any login name is an account there). */
  async function toProvider(page: Page) {
    expect((await page.goto(`${svc!.url}/login`))?.status()).toBe(200);
    await Promise.all([page.waitForURL(`${provider!.issuer}/**`), page.getByRole('link', { name: 'Sign in with SSO' }).click()]);
    expect(await page.locator('input[name="login"]').count()).toBe(1);
  }

  /** Signs in at the provider as `login` and consents; answers the response of the service's callback and the page where the browser ended. */
  async function atProvider(page: Page, login: string) {
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'anything');
    await Promise.all([page.waitForURL(`${provider!.issuer}/**`), page.click('button[type="submit"]')]);
    const [callback] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${svc!.url}/login/sso/callback`)),
      page.waitForURL(`${svc!.url}/**`),
      page.getByRole('button', { name: 'Continue' }).click(),
    ]);
    await page.waitForLoadState('load');
    return callback;
  }

  it('when a signed-out browser asks for the dashboard, then it lands on /login, which offers SSO (1280 px and 390 px)', async () => {
    for (const [size, options] of [['1280', DESKTOP], ['390', PHONE]] as const) {
      const context = await browser!.newContext(options);
      const page = await context.newPage();
      const said = watch(page);
      const res = await page.goto(`${svc!.url}/reports/agents`);
      expect(res?.status()).toBe(200);
      expect(page.url()).toBe(`${svc!.url}/login`);
      expect(await page.getByRole('link', { name: 'Sign in with SSO' }).count()).toBe(1);
      expect(await accessibilityProblems(page)).toEqual([]);
      expect(troubles(said)).toEqual([]);
      await shot(page, `sso-${size}-1-login.png`);
      await context.close();
    }
  }, STEP_MS);

  it('when the billing lead signs in at the provider, then they land on the dashboard with a session, and the audit trail says so', async () => {
    const context: BrowserContext = await browser!.newContext(DESKTOP);
    const page = await context.newPage();
    await toProvider(page);
    await shot(page, 'sso-1280-2-provider.png');
    const callback = await atProvider(page, LEAD.email);
    expect(callback.status()).toBe(303);
    expect(await callback.headerValue('referrer-policy')).toBe('no-referrer'); // the code never leaves in a Referer
    expect(page.url()).toBe(`${svc!.url}/reports/agents`);
    expect(await page.locator('form.whoami').innerText()).toContain(`${LEAD.name} · lead`);
    await shot(page, 'sso-1280-3-dashboard.png');
    const me = await page.goto(`${svc!.url}/me`);
    expect(await me?.json()).toMatchObject({ email: LEAD.email, role: 'lead', teams: ['billing'] });
    const cookies = await context.cookies(svc!.url);
    expect(cookies.find((c) => c.name === 'closeloop_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookies.find((c) => c.name === 'closeloop_sso')).toBeUndefined(); // the attempt's cookie is gone with its one use
    expect(await sessions()).toBe(1);
    const signins = await audit('signin');
    expect(signins.map((r) => [r.actor, detailOf(r).method])).toEqual([[LEAD.email, 'sso']]);

    // The same callback URL again (the browser's back button, or someone who read it): nothing.
    const again = await page.goto(callback.url());
    expect(again?.status()).toBe(400);
    expect(await sessions()).toBe(1);
    await context.close();
  }, STEP_MS);

  it('when the account has no Closeloop user, or an email the provider has not verified, then the page says so and nobody is signed in', async () => {
    for (const [login, status, says, reason] of [
      ['stranger@support.example', 403, 'There is no Closeloop user with the email address of your account.', 'sso_unknown_email'],
      ['lena+unverified@support.example', 403, 'The sign-in provider has not verified your email address.', 'email_not_verified'],
    ] as const) {
      const context = await browser!.newContext(PHONE);
      const page = await context.newPage();
      const before = await sessions();
      await toProvider(page);
      const callback = await atProvider(page, login);
      expect([login, callback.status()]).toEqual([login, status]);
      expect(await page.locator('main').innerText()).toContain(says);
      expect(await sessions()).toBe(before);
      expect((await audit('signin_failed')).map((r) => detailOf(r).reason)).toContain(reason);
      await shot(page, `sso-390-refused-${reason}.png`);
      await context.close();
    }
  }, STEP_MS);

  it('when the person cancels at the provider, or a callback carries a state this browser did not start, then nobody is signed in', async () => {
    const context = await browser!.newContext(DESKTOP);
    const page = await context.newPage();
    const before = await sessions();
    await toProvider(page);
    const [cancelled] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${svc!.url}/login/sso/callback`)),
      page.getByRole('link', { name: /Cancel/ }).click(),
    ]);
    expect(cancelled.status()).toBe(400);
    expect(new URL(cancelled.url()).searchParams.get('error')).toBe('access_denied');
    expect(await page.locator('main').innerText()).toContain('The sign-in provider did not sign you in.');

    // A forged callback: this browser started a sign-in (it has the attempt's cookie), the state is someone else's.
    await toProvider(page);
    const forged = await page.goto(`${svc!.url}/login/sso/callback?code=made-up&state=someone-elses&iss=${encodeURIComponent(provider!.issuer)}`);
    expect(forged?.status()).toBe(400);
    expect(await page.locator('main').innerText()).toContain('did not pass its checks');
    // And a callback no sign-in started here.
    const unstarted = await page.goto(`${svc!.url}/login/sso/callback?code=made-up&state=x`);
    expect(unstarted?.status()).toBe(400);
    expect(await page.locator('main').innerText()).toContain('did not start here');
    expect(await sessions()).toBe(before);
    expect((await audit('signin_failed')).map((r) => detailOf(r).reason)).toEqual(expect.arrayContaining(['sso_refused', 'sso_check_failed', 'sso_no_attempt']));
    await context.close();
  }, STEP_MS);
});
