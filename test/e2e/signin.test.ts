/**
 * Signing in without passwords, end to end, with real parts: the service as a real process (dist/,
 * so build first), its sign-in and survey emails at a real SMTP server, people in Chromium.
 *
 * - Two teams' customers rate through the real webhook and the rating page: billing (Ada, a-7) and
 *   returns (Rita, a-8).
 * - An admin adds a billing lead and the agent a-7 through the API.
 * - The lead asks for a link at /login, opens it from the email (a page with a button: the GET alone
 *   signs nobody in), presses the button and reads billing only: the dashboard and the ratings feed
 *   at 1280 px and on a 390 px phone (whether the phone page scrolls sideways is logged, not judged:
 *   the dashboard's layout is known work).
 * - The agent signs in the same way and lands on their own page; anyone else's answers 403.
 * - An unknown address gets the same page as a known one and no email: proven after a known
 *   address's email, asked for right after, arrived.
 * - A used link signs nobody in again (400, no new session); a link posted from another origin is
 *   refused (403) and still works from this site afterwards.
 * - Sign-out with the session's CSRF token ends that session: /me then sends to /login.
 *
 * The steps run in order, each building on what the one before left. Every absence is checked after
 * an event that comes later, never after a sleep. The skip rule is rating-flow.test.ts's: without
 * /usr/bin/chromium these tests skip, unless CI=true, where they fail. Screenshots go to
 * test-artifacts/ (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { hashSecret } from '../../src/signin/sessions';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';
import { ratingLinks, startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { waitFor } from '../helpers/wait';
import { accessibilityProblems, addressesOf, ARTIFACTS, describeBrowser, launchChromium, shot, startService, submitAndLoad, troubles, watch, type ServiceProcess } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const REPORTS_TOKEN = 'e2e-reports-token-0123456789';
const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';
const ADA = { id: 'a-7', name: 'Ada Billingsley' };
const RITA = { id: 'a-8', name: 'Rita Returnsworth' };
const LEAD = { email: 'lena@support.example', name: 'Lena Lead' };
const AGENT = { email: 'ada@support.example', name: 'Ada' };
const STRANGER = 'nobody@support.example';
const SIGNIN_SUBJECT = 'Your Closeloop sign-in link';
const REUSED = 'This sign-in link does not work any more.';
/** A bound on waiting for an email that is due now: a safety net, not a speed limit (see helpers/wait.ts). */
const ARRIVES_WITHIN_MS = 60_000;
/** jest's bound on one step: above the sum of the bounded waits inside it (each fails with its own message first). */
const JOURNEY_MS = 600_000;

const describeE2e = describeBrowser('the sign-in browser tests');




/** The widest a card's content is beyond the card's own width (cards scroll sideways inside themselves): 0 when every card fits. */
const widestCard = (page: Page) => page.evaluate<number>("Math.max(0, ...[...document.querySelectorAll('.card')].map((c) => c.scrollWidth - c.clientWidth))");
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

describeE2e('signing in with an emailed link: a lead reads their teams only, an agent their own page, and links work once', () => {
  let dir: string;
  let dbEnv: Record<string, string>;
  let smtp: SmtpTestServer;
  let svc: ServiceProcess | undefined;
  let browser: Browser | undefined;

  // Shared by the steps, which run in order.
  let leadContext: BrowserContext; // the lead, signed in at 1280 px (step 3 to 7)
  let leadLink: string; // the link the lead signed in with (used)
  const overflow: Record<string, number> = {};

  beforeAll(async () => {
    browser = await launchChromium(); // first: under CI=true a missing chromium is the failure to report
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-signin-'));
    dbEnv = freshDatabaseEnv(dir);
    smtp = await startSmtpServer();
    svc = await startService({ ...dbEnv, SMTP_URL: smtp.url, ADMIN_TOKEN, REPORTS_TOKEN, WEBHOOK_SECRET, DELIVERY_POLL_MS: '50' });
  }, 240_000); // a safety net: a browser and a service start in seconds, but a busy machine can slow them many times

  afterAll(async () => {
    await leadContext?.close();
    await browser?.close();
    await svc?.stop();
    await smtp?.close();
    if (dbEnv) await dropDatabase(dbEnv);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (Object.keys(overflow).length) console.log(`Page widths in px (scroll_width: document.documentElement.scrollWidth against the 390 px viewport; card_overflow: how far the widest card's content reaches beyond the card, which scrolls inside itself): ${JSON.stringify(overflow)}`);
  });

  const count = async (table: string, where: Record<string, unknown> = {}) => Number((await svc!.db(table).where(where).count({ n: '*' }).first())?.n);
  const sessions = () => count('sessions');
  const mailsTo = (address: string) => smtp.messages.filter((m) => addressesOf(m).includes(address));
  const signinMailsTo = (address: string) => mailsTo(address).filter((m) => m.subject === SIGNIN_SUBJECT);
  const auditOf = (action: string) => svc!.db('audit_events').where({ action }).orderBy('id').select('actor', 'detail');
  /** The session row of a context's cookie (only the cookie's hash is stored). */
  async function sessionOf(context: BrowserContext) {
    const cookie = (await context.cookies(svc!.url)).find((c) => c.name === 'closeloop_session');
    return cookie ? { cookie, row: await svc!.db('sessions').where({ id_hash: hashSecret(cookie.value) }).first() } : undefined;
  }

  /** Asks for a link at /login in `page`; answers the page's text once the answer is shown (the email is not awaited here). */
  async function askForLink(page: Page, email: string): Promise<string> {
    expect((await page.goto(`${svc!.url}/login`))?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Sign in to Closeloop');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.fill('#email', email);
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${svc!.url}/login`), page.waitForEvent('load'), page.click('form button[type="submit"]')]);
    expect(answer.status()).toBe(200);
    return page.locator('main').innerText();
  }

  /** The sign-in link of the next sign-in email to `email` after `before` of them had arrived. */
  async function nextLink(email: string, before: number): Promise<string> {
    await waitFor(() => signinMailsTo(email).length > before, ARRIVES_WITHIN_MS);
    const mail = signinMailsTo(email)[before];
    const link = String(mail.text).match(/https?:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/)?.[0];
    expect(link).toMatch(new RegExp(`^${svc!.url}/login/[A-Za-z0-9_-]{43}$`));
    expect(String(mail.html)).toContain(`href="${link}"`);
    return link!;
  }

  /** Presses the link page's "Sign in" button; answers the POST's response once the page it leads to has loaded. */
  async function pressSignIn(page: Page, link: string): Promise<Response> {
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
    const [posted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === link), page.waitForEvent('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    return posted;
  }

  /** Opens a sign-in link: the page with its button, and no session, no use of the link, from the GET alone. */
  async function openLink(page: Page, link: string) {
    const sessionsBefore = await sessions();
    const opened = await page.goto(link);
    expect(opened?.status()).toBe(200);
    expect(await opened?.headerValue('referrer-policy')).toBe('no-referrer');
    expect(await page.locator('h1').innerText()).toBe('Sign in to Closeloop');
    expect(await page.locator('main').innerText()).toContain('Press the button to sign in on this device.');
    expect(await sessions()).toBe(sessionsBefore);
    return sessionsBefore;
  }

  /** A whole sign-in in `context`: ask at /login, the email's link, the button; answers the page (at its landing page) and the link. */
  async function signIn(context: BrowserContext, email: string, home: string, shots?: string) {
    const page = await context.newPage();
    const before = signinMailsTo(email).length;
    const answer = await askForLink(page, email);
    expect(answer).toContain('Check your email.');
    if (shots) await shot(page, `${shots}-1-check-your-email.png`);
    const link = await nextLink(email, before);
    const sessionsBefore = await openLink(page, link);
    if (shots) await shot(page, `${shots}-2-link-opened.png`);
    const posted = await pressSignIn(page, link);
    expect(posted.status()).toBe(303);
    expect(page.url()).toBe(`${svc!.url}${home}`);
    expect(await sessions()).toBe(sessionsBefore + 1);
    const session = await sessionOf(context);
    expect(session?.row).toBeDefined();
    // Over http the cookie has no __Host- prefix and no Secure; HttpOnly and SameSite=Lax always.
    expect(session!.cookie).toMatchObject({ httpOnly: true, secure: false, sameSite: 'Lax', path: '/' });
    return { page, link };
  }

  /** Closes a ticket through the signed webhook and rates it in Chromium: a score button on the rating page, then a comment. */
  async function rated(ticketId: string, team: string, agent: { id: string; name: string }, customer: { email: string; name: string }, score: number, comment: string) {
    const s = svc!;
    const res = await s.postWebhook(WEBHOOK_SECRET, { ticket_id: ticketId, closed_at: new Date().toISOString(), customer, agent, team, subject: `Ticket ${ticketId}` });
    expect(res.status).toBe(202);
    const surveyId = ((await res.json()) as { survey_id: string }).survey_id;
    const isSurvey = (m: ParsedMail) => m.messageId?.startsWith(`<survey.${surveyId}@`) === true;
    await waitFor(() => smtp.messages.some(isSurvey), ARRIVES_WITHIN_MS);
    await waitFor(async () => (await s.db('surveys').where({ id: surveyId }).first())?.status === 'sent', ARRIVES_WITHIN_MS);
    const mail = smtp.messages.find(isSurvey)!;
    expect(addressesOf(mail)).toEqual([customer.email]);
    const links = ratingLinks(mail);
    expect(links).toHaveLength(5);

    // The rating page behind the email's links (/r/<token>): a person presses a score, which counts at once, then comments.
    const context = await browser!.newContext();
    const page = await context.newPage();
    const said = watch(page);
    const ratingPage = links[score - 1].slice(0, -2);
    expect((await page.goto(ratingPage))?.status()).toBe(200);
    await submitAndLoad(page, `form.scores button[name="score"][value="${score}"]`);
    expect(page.url()).toBe(ratingPage);
    await page.fill('#comment', comment);
    await submitAndLoad(page, 'form:has(#comment) button[type="submit"]');
    expect(await page.inputValue('#comment')).toBe(comment);
    expect(troubles(said)).toEqual([]);
    await context.close();
    expect(await s.db('surveys').where({ id: surveyId }).first('score', 'comment')).toEqual({ score, comment });
  }

  it('when axe-core looks at a page with an unlabelled field and an image without text, then it reports both (the control for the checks below)', async () => {
    const page = await browser!.newPage();
    await page.setContent('<!DOCTYPE html><html lang="en"><head><title>control</title></head><body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>');
    const problems = await accessibilityProblems(page);
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['image-alt', 'label']);
    await page.close();
  }, JOURNEY_MS);

  it('when customers of billing (Ada) and of returns (Rita) rate in the browser, then the reports token sees both', async () => {
    await rated('SIGNIN-B1', 'billing', ADA, { email: 'bea@example.com', name: 'Bea' }, 5, 'Ada on billing');
    await rated('SIGNIN-R1', 'returns', RITA, { email: 'rob@example.com', name: 'Rob' }, 4, 'Rita on returns');
    // The control for every absence below: the data holds both teams.
    const res = await fetch(`${svc!.url}/reports/agents?format=json`, { headers: { Authorization: `Bearer ${REPORTS_TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { agents: Array<{ agent_id: string; team: string; responses: number; comments: number }> };
    expect(body.agents.map((a) => [a.agent_id, a.team, a.responses, a.comments]).sort()).toEqual([
      ['a-7', 'billing', 1, 1],
      ['a-8', 'returns', 1, 1],
    ]);
  }, JOURNEY_MS);

  it('when an admin adds a billing lead and the agent a-7 through the API, then both exist (and no one else can add users)', async () => {
    const post = (body: unknown, token = ADMIN_TOKEN) =>
      fetch(`${svc!.url}/api/users`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ ...LEAD, role: 'lead', teams: ['billing'] }, REPORTS_TOKEN)).status).toBe(401);
    const lead = await post({ ...LEAD, role: 'lead', teams: ['billing'] });
    expect(lead.status).toBe(201);
    expect(await lead.json()).toMatchObject({ email: LEAD.email, role: 'lead', teams: ['billing'], agent_id: null });
    const agent = await post({ ...AGENT, role: 'agent', agent_id: ADA.id });
    expect(agent.status).toBe(201);
    expect(await agent.json()).toMatchObject({ email: AGENT.email, role: 'agent', agent_id: ADA.id });
    expect(await count('users')).toBe(2);
    expect(await sessions()).toBe(0);
  }, JOURNEY_MS);

  it('when the lead signs in with the emailed link, then the GET alone signs nobody in, the button does, and the dashboard and ratings feed show billing only, at 1280 px and 390 px', async () => {
    const s = svc!;
    leadContext = await browser!.newContext(DESKTOP);
    // The link's GET (as a mail scanner would) changes nothing: checked inside signIn, from an empty sessions table.
    expect(await sessions()).toBe(0);
    const { page, link } = await signIn(leadContext, LEAD.email, '/reports/agents', 'signin-lead');
    leadLink = link;
    expect(await s.db('signin_links').where({ token_hash: hashSecret(link.split('/').pop()!) }).first('used_at')).toEqual({ used_at: expect.anything() });
    const said = watch(page);
    expect((await sessionOf(leadContext))?.row).toMatchObject({ user_id: expect.any(Number) });
    expect((await auditOf('signin')).map((e) => e.actor)).toEqual([LEAD.email]);

    // The dashboard, where the button led: Ada, and nothing of Rita or returns.
    const dashboardText = async (p: Page) => {
      const text = await p.locator('body').innerText();
      expect(await p.getByRole('link', { name: ADA.name }).count()).toBe(1);
      expect(text).toContain('billing');
      expect(text).not.toContain('Rita');
      expect(text).not.toContain(RITA.id);
      expect(text).not.toContain('returns');
      // Not in the markup either (datalists of filter values, hidden fields).
      const html = await p.content();
      expect(html).not.toContain('Rita');
      expect(html).not.toContain('returns');
    };
    await dashboardText(page);
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(await page.locator('tbody tr').count()).toBe(1);
    overflow.dashboard_1280_card_overflow = await widestCard(page);
    await shot(page, 'signin-lead-1280-1-dashboard.png');

    // The ratings feed: Ada's comment, not Rita's.
    const feedText = async (p: Page) => {
      expect(await p.locator('h1').innerText()).toBe('Ratings and comments');
      const text = await p.locator('body').innerText();
      expect(text).toContain('Ada on billing');
      expect(text).not.toContain('Rita on returns');
      expect(text).not.toContain('Rita');
      expect(text).not.toContain('returns');
    };
    await Promise.all([page.waitForURL(/\/reports\/ratings(\?|$)/), page.getByRole('link', { name: 'Ratings and comments' }).click()]);
    await feedText(page);
    expect(await accessibilityProblems(page)).toEqual([]);
    await shot(page, 'signin-lead-1280-2-ratings.png');
    // Asking for the other team is refused, not answered empty.
    expect((await page.goto(`${s.url}/reports/agents?team=returns`))?.status()).toBe(403);
    expect(troubles(said)).toEqual([]);
    await page.close();

    // The same session on a phone: the same pages at 390 px; whether they scroll sideways is measured, not judged here.
    const phone = await browser!.newContext({ ...PHONE, storageState: await leadContext.storageState() });
    const mobile = await phone.newPage();
    const mobileSaid = watch(mobile);
    expect((await mobile.goto(`${s.url}/reports/agents`))?.status()).toBe(200);
    await dashboardText(mobile);
    expect(await accessibilityProblems(mobile)).toEqual([]);
    overflow.dashboard_390_scroll_width = await mobile.evaluate<number>('document.documentElement.scrollWidth');
    overflow.dashboard_390_card_overflow = await widestCard(mobile);
    await shot(mobile, 'signin-lead-390-1-dashboard.png');
    expect((await mobile.goto(`${s.url}/reports/ratings`))?.status()).toBe(200);
    await feedText(mobile);
    overflow.ratings_390_scroll_width = await mobile.evaluate<number>('document.documentElement.scrollWidth');
    overflow.ratings_390_card_overflow = await widestCard(mobile);
    await shot(mobile, 'signin-lead-390-2-ratings.png');
    const fits = (w: number) => (w > 390 ? 'the page overflows sideways' : 'the page fits');
    console.log(
      `390 px, lead: dashboard scrollWidth ${overflow.dashboard_390_scroll_width} (${fits(overflow.dashboard_390_scroll_width)}; its widest card scrolls ${overflow.dashboard_390_card_overflow} px inside itself), ` +
        `ratings feed scrollWidth ${overflow.ratings_390_scroll_width} (${fits(overflow.ratings_390_scroll_width)}; its widest card scrolls ${overflow.ratings_390_card_overflow} px inside itself)`,
    );
    // The tables fit: no page scrolls sideways, and no card's content reaches past the card, at 1280 px or on the phone.
    expect(overflow).toEqual({ dashboard_1280_card_overflow: 0, dashboard_390_scroll_width: 390, dashboard_390_card_overflow: 0, ratings_390_scroll_width: 390, ratings_390_card_overflow: 0 });
    expect(troubles(mobileSaid)).toEqual([]);
    await phone.close();
    expect(await sessions()).toBe(1); // the phone used the same session
  }, JOURNEY_MS);

  it('when the agent signs in, then they land on their own page with their ratings, and another agent\'s page answers 403', async () => {
    const s = svc!;
    const context = await browser!.newContext(DESKTOP);
    const { page } = await signIn(context, AGENT.email, `/reports/agents/${ADA.id}`, 'signin-agent');
    const said = watch(page);
    expect(await page.locator('h1').innerText()).toBe(ADA.name);
    const rated = page.locator('tbody tr', { hasText: 'SIGNIN-B1' });
    expect(await rated.locator('td.comment').innerText()).toBe('Ada on billing');
    expect((await rated.locator('td').nth(1).innerText()).trim()).toBe('5');
    expect(await page.locator('body').innerText()).not.toContain('Rita');
    await shot(page, 'signin-agent-1280-1-own-page.png');

    const other = await page.goto(`${s.url}/reports/agents/${RITA.id}`);
    expect(other?.status()).toBe(403);
    expect(await page.locator('h1').innerText()).toBe('That is outside what you may see.');
    expect(await page.locator('body').innerText()).not.toContain('Rita on returns');
    await shot(page, 'signin-agent-1280-2-other-agent-403.png');
    // Their /reports/agents is their own row only.
    expect((await page.goto(`${s.url}/reports/agents`))?.status()).toBe(200);
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('body').innerText()).not.toContain('Rita');
    expect(troubles(said)).toEqual([]);
    await context.close();
    expect((await auditOf('signin')).map((e) => e.actor)).toEqual([LEAD.email, AGENT.email]);
  }, JOURNEY_MS);

  it('when an unknown address asks for a link, then it gets the same page as a known one and no email (proven after the known one\'s email arrived)', async () => {
    const context = await browser!.newContext(DESKTOP);
    const page = await context.newPage();
    const said = watch(page);
    const strangerSaw = await askForLink(page, STRANGER);
    await shot(page, 'signin-unknown-address-answer.png');
    const before = signinMailsTo(AGENT.email).length;
    const knownSaw = await askForLink(page, AGENT.email);
    expect(strangerSaw).toBe(knownSaw);
    expect(knownSaw).toContain('If this address belongs to a Closeloop user, a sign-in link is on its way.');
    // The positive control: the known address's email, asked for after the unknown one, arrived.
    await nextLink(AGENT.email, before);
    expect(mailsTo(STRANGER)).toEqual([]);
    expect((await auditOf('signin_failed')).filter((e) => e.actor === STRANGER).map((e) => JSON.parse(e.detail))).toEqual([{ reason: 'unknown_email' }]);
    expect(troubles(said)).toEqual([]);
    await context.close();
  }, JOURNEY_MS);

  it('when a used link is pressed again, then it signs nobody in (400, no new session); a link posted from another origin is refused and still works from this site', async () => {
    const s = svc!;
    const sessionsBefore = await sessions();
    const failedBefore = (await auditOf('signin_failed')).length;

    // The lead goes back to the link's page and presses Sign in again: same browser, still signed in.
    const again = await leadContext.newPage();
    await openLink(again, leadLink);
    const reused = await pressSignIn(again, leadLink);
    expect(reused.status()).toBe(400);
    expect(await again.locator('h1').innerText()).toBe(REUSED);
    await shot(again, 'signin-reused-link-same-browser.png');
    expect(await sessions()).toBe(sessionsBefore);
    await again.close();

    // Someone else's browser with the same (used) link.
    const elsewhere = await browser!.newContext(DESKTOP);
    const page = await elsewhere.newPage();
    await openLink(page, leadLink);
    const stolen = await pressSignIn(page, leadLink);
    expect(stolen.status()).toBe(400);
    expect(await page.locator('h1').innerText()).toBe(REUSED);
    expect(await sessionOf(elsewhere)).toBeUndefined();
    await shot(page, 'signin-reused-link-other-browser.png');
    expect(await sessions()).toBe(sessionsBefore);
    expect((await auditOf('signin_failed')).slice(failedBefore).map((e) => [e.actor, JSON.parse(e.detail)])).toEqual([
      ['unknown', { reason: 'link_invalid_used_or_expired' }],
      ['unknown', { reason: 'link_invalid_used_or_expired' }],
    ]);

    // A fresh link, posted from another origin: refused before it is looked at, so it is not used up.
    const before = signinMailsTo(LEAD.email).length;
    await askForLink(page, LEAD.email);
    const fresh = await nextLink(LEAD.email, before);
    const token = fresh.split('/').pop()!;
    const crossSite = await fetch(fresh, { method: 'POST', redirect: 'manual', headers: { Origin: 'http://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    expect(await sessions()).toBe(sessionsBefore);
    expect(await s.db('signin_links').where({ token_hash: hashSecret(token) }).first('used_at')).toEqual({ used_at: null });
    // The control: the same link, from this site, signs in.
    await openLink(page, fresh);
    expect((await pressSignIn(page, fresh)).status()).toBe(303);
    expect(page.url()).toBe(`${s.url}/reports/agents`);
    expect(await sessions()).toBe(sessionsBefore + 1);
    await elsewhere.close();
  }, JOURNEY_MS);

  it('when the lead signs out with the session\'s CSRF token, then that session ends and /me sends to /login', async () => {
    const s = svc!;
    const page = await leadContext.newPage();
    const said = watch(page);
    expect((await page.goto(`${s.url}/me`))?.status()).toBe(200);
    expect(JSON.parse(await page.locator('body').innerText())).toEqual({ email: LEAD.email, name: LEAD.name, role: 'lead', teams: ['billing'], agent_id: null });
    const session = await sessionOf(leadContext);
    expect(session?.row).toBeDefined();
    const others = (await sessions()) - 1; // the agent's, and the lead's second browser (the link posted from this site)

    // No sign-out button yet: the form post the page will make, from the browser's context (its cookie), with the CSRF token.
    const stale = await page.request.post(`${s.url}/logout`, { form: { csrf: 'not-the-token' }, headers: { Origin: s.url }, maxRedirects: 0 });
    expect(stale.status()).toBe(403);
    expect(await sessions()).toBe(others + 1);
    const out = await page.request.post(`${s.url}/logout`, { form: { csrf: session!.row.csrf }, headers: { Origin: s.url }, maxRedirects: 0 });
    expect(out.status()).toBe(303);
    expect(out.headers().location).toBe('/login');
    expect(await s.db('sessions').where({ id_hash: session!.row.id_hash }).first()).toBeUndefined();
    expect(await sessions()).toBe(others);
    expect((await auditOf('signout')).map((e) => e.actor)).toEqual([LEAD.email]);

    await page.goto(`${s.url}/me`);
    expect(page.url()).toBe(`${s.url}/login`);
    expect(await page.locator('h1').innerText()).toBe('Sign in to Closeloop');
    // The old cookie, presented again (a copy of it), signs nobody in: the session ended on the server.
    const replayed = await fetch(`${s.url}/me`, { redirect: 'manual', headers: { Cookie: `closeloop_session=${session!.cookie.value}` } });
    expect(replayed.status).toBe(303);
    expect(replayed.headers.get('location')).toBe('/login');
    // The reports without a session ask for the reports credential (HTTP Basic's challenge, so not through the page: Chromium would prompt).
    expect((await page.request.get(`${s.url}/reports/agents`, { maxRedirects: 0 })).status()).toBe(401);
    await shot(page, 'signin-lead-after-sign-out.png');
    expect(troubles(said)).toEqual([]);
  }, JOURNEY_MS);
});
