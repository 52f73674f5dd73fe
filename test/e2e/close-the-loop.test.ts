/**
 * Closing the loop end to end, with real parts: survey emails at a real SMTP server, customers'
 * clicks in Chromium, the service as a real process (dist/, so build first), a local HTTP receiver
 * standing in for Slack (ALERT_WEBHOOK_URL), and the team's lead named in the definitions file
 * (SURVEYS_FILE: `teams: billing: leads: [ana@leads.example]`).
 *
 * - A "1" from a person's click counts and opens one follow-up, announced once by email to the
 *   billing lead and once to Slack; a comment afterwards announces nothing more.
 * - A "5" announces nothing: proven by a later "2" whose announcements do arrive (the positive
 *   control: both workers have run after the 5 was counted).
 * - The lead works the follow-up on the /followups page (HTTP Basic sent up front, as automation does: a browser
 *   that waits for a challenge is sent to /login; ADMIN_TOKEN as password, the user name the author): takes it, adds a note, resolves it; at 1280 px and on a 390 px phone.
 * - A silent customer gets exactly one reminder, threaded under the first email; a later silent
 *   customer's reminder, one full reminder interval after it, is the positive control that no second
 *   one came. The rated customers and one who unsubscribed get none: their reminders end cancelled.
 *
 * Every absence is checked after an event that comes later, never after a sleep. The skip rule is
 * rating-flow.test.ts's: without /usr/bin/chromium these tests skip, unless CI=true, where they fail.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ParsedMail } from 'mailparser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { toDate } from '../../src/shared/db';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';
import { ratingLinks, startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { waitFor } from '../helpers/wait';
import { validWith } from '../surveys/fixtures';
import { accessibilityProblems, addressesOf, ARTIFACTS, basic, describeBrowser, launchChromium, shot, startService, submitAndLoad, troubles, watch, type ServiceProcess } from './harness';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';
const LEAD = 'ana@leads.example';
const LEAD_NAME = 'Ana';
const AGENT = { id: 'a-7', name: 'Ada Lovelace' };
const COMMENT = 'Nobody told me the refund would take three weeks.';
const NOTE = 'Called Lou back; the refund went out today.';
/** RATING_HOLD_SECONDS: its minimum. Nothing here scans links, so a person's click counts after it. */
const HOLD_SECONDS = 5;
/** A page-posted rating is decided within the hold plus one pass of the hold loop; the rest is a safety net for a busy machine. */
const DECIDED_WITHIN_MS = HOLD_SECONDS * 1250 + 60_000;
/**
 * REMINDER_AFTER_HOURS = 0.01 h = 36 s: the rated customers' page posts (seconds after their email)
 * land long before their reminders fall due, which each test checks rather than assumes.
 */
const REMINDER_AFTER_HOURS = 0.01;
const REMINDER_AFTER_MS = REMINDER_AFTER_HOURS * 3_600_000;
/** DELIVERY_POLL_MS: how often every outbox worker (survey, reminder, lead alert, hook) looks for due work. */
const POLL_MS = 200;
/** A bound on waiting for an email or a POST that is due now: a safety net, not a speed limit (see helpers/wait.ts). */
const ARRIVES_WITHIN_MS = 60_000;
/** jest's bound on one test: above the sum of the bounded waits inside it (each fails with its own message first). */
const JOURNEY_MS = 600_000;

const describeE2e = describeBrowser('the close-the-loop browser tests');




const at = (v: unknown) => toDate(v).getTime();

type Customer = { email: string; name: string };
type Sent = { surveyId: string; ticketId: string; customer: Customer; mail: ParsedMail };
type SlackPost = { path: string; contentType: string | undefined; body: Record<string, unknown> };

describeE2e('closing the loop: a low rating reaches the team lead, who follows it up; silent customers get one reminder', () => {
  let dir: string;
  let dbEnv: Record<string, string>;
  let smtp: SmtpTestServer;
  let svc: ServiceProcess | undefined;
  let browser: Browser | undefined;
  let slack: http.Server | undefined;
  /** What the Slack stand-in received, in order. */
  const slackPosts: SlackPost[] = [];

  // Shared by the steps, which run in order: each builds on what the one before left.
  let low: Sent; // the customer who rates 1
  let high: Sent; // the customer who rates 5
  let second: Sent; // a later 2: the positive control that the 5 announced nothing
  let followupId: number;

  beforeAll(async () => {
    browser = await launchChromium(); // first: under CI=true a missing chromium is the failure to report
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-loop-'));
    dbEnv = freshDatabaseEnv(dir);
    const surveysFile = path.join(dir, 'surveys.yml');
    fs.writeFileSync(surveysFile, validWith({}, ['teams:', '  billing:', `    leads: [${LEAD}]`, 'default_leads: [desk@leads.example]']));
    smtp = await startSmtpServer();
    slack = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        slackPosts.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(raw) });
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok'); // what Slack answers
      });
    });
    await new Promise<void>((resolve) => slack!.listen(0, '127.0.0.1', resolve));
    svc = await startService({
      ...dbEnv,
      SMTP_URL: smtp.url,
      WEBHOOK_SECRET,
      ADMIN_TOKEN,
      SURVEYS_FILE: surveysFile,
      DELIVERY_POLL_MS: String(POLL_MS),
      RATING_HOLD_SECONDS: String(HOLD_SECONDS),
      REMINDER_AFTER_HOURS: String(REMINDER_AFTER_HOURS),
      // http:// to loopback needs no RATING_WEBHOOK_ALLOW_HTTP (config.ts receiverProblem): a Slack stand-in on 127.0.0.1.
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T000/B000/slack-stand-in`,
    });
  }, 240_000); // a safety net: a browser and a service start in seconds, but a busy machine can slow them many times

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (slack ? slack.close(resolve) : resolve(undefined)));
    await svc?.stop();
    await smtp?.close();
    if (dbEnv) await dropDatabase(dbEnv);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const alertMails = () => smtp.messages.filter((m) => m.messageId?.startsWith('<alert.'));
  const reminderMails = () => smtp.messages.filter((m) => m.messageId?.startsWith('<reminder.'));
  const alertMailsFor = (s: Sent) => alertMails().filter((m) => m.messageId!.startsWith(`<alert.${s.surveyId}.`));
  const slackPostsFor = (s: Sent) => slackPosts.filter((p) => p.body.ticket_id === s.ticketId);
  const reminderRow = (s: Sent) => svc!.db('reminders').where({ survey_id: s.surveyId }).first();
  const followupOf = (s: Sent) => svc!.db('followups').where({ survey_id: s.surveyId }).first();
  const followupEvents = (id: number) => svc!.db('followup_events').where({ followup_id: id }).orderBy('id').select('kind', 'author', 'status', 'owner', 'outcome', 'note');
  /** Rows of `table` about `s`'s survey (a number on SQLite and PostgreSQL alike). */
  const rowsAbout = async (table: string, s: Sent) => Number((await svc!.db(table).where({ survey_id: s.surveyId }).count({ n: '*' }).first())?.n);
  const attempts = (s: Sent) => svc!.db('rating_attempts').where({ survey_id: s.surveyId }).orderBy('id').select('source', 'score', 'status', 'reason', 'created_at');

  /** Closes a ticket through the signed webhook; returns its survey email once it reached the SMTP server and the survey is marked sent. */
  async function closeTicket(ticketId: string, customer: Customer): Promise<Sent> {
    const s = svc!;
    const res = await s.postWebhook(WEBHOOK_SECRET, { ticket_id: ticketId, closed_at: new Date().toISOString(), customer, agent: AGENT, team: 'billing', subject: `Refund for ${ticketId}` });
    expect(res.status).toBe(202);
    const surveyId = ((await res.json()) as { survey_id: string }).survey_id;
    const isFirst = (m: ParsedMail) => m.messageId?.startsWith(`<survey.${surveyId}@`) === true;
    await waitFor(() => smtp.messages.some(isFirst), ARRIVES_WITHIN_MS);
    await waitFor(async () => (await s.db('surveys').where({ id: surveyId }).first())?.status === 'sent', ARRIVES_WITHIN_MS);
    const mail = smtp.messages.find(isFirst)!;
    expect(addressesOf(mail)).toEqual([customer.email]);
    return { surveyId, ticketId, customer, mail };
  }

  /**
   * A person's click on a score link of the email, as in rating-flow.test.ts: the page posts the
   * score by itself once visible, shows thanks at once, and the rating counts after the hold with no
   * second click. Also checks that the post came before the survey's reminder fell due (this file's
   * timing assumption: otherwise the reminder could legitimately go out first).
   */
  async function personClicks(context: BrowserContext, s: Sent, score: number): Promise<Page> {
    const link = ratingLinks(s.mail)[score - 1];
    expect(link).toMatch(new RegExp(`/r/[A-Za-z0-9_-]{43}/${score}$`));
    const page = await context.newPage();
    const said = watch(page);
    expect((await page.goto(link))?.status()).toBe(200);
    const thanked = await page.waitForURL(link.slice(0, -2), { timeout: 60_000 }).then(() => true, () => false); // a safety net
    if (!thanked) throw new Error(`the rating page did not post "${score}" by itself. Browser said:\n${said.join('\n') || '(nothing)'}`);
    const posted = await attempts(s);
    expect(posted.map((a) => [a.source, a.score])).toEqual([['page', score]]);
    const reminder = await reminderRow(s);
    if (!(reminder.status === 'pending' && at(posted[0].created_at) < at(reminder.due_at))) {
      throw new Error(`the page's post came after the reminder of ${s.ticketId} fell due (${JSON.stringify(reminder)}): the machine is too slow for REMINDER_AFTER_HOURS=${REMINDER_AFTER_HOURS}`);
    }
    await waitFor(async () => (await svc!.db('surveys').where({ id: s.surveyId }).first()).score === score, DECIDED_WITHIN_MS);
    expect((await attempts(s)).map((a) => [a.source, a.score, a.status, a.reason])).toEqual([['page', score, 'counted', 'no_scanner_signal']]);
    expect(troubles(said)).toEqual([]);
    return page;
  }

  /** The first alert email and Slack post announcing `s`'s follow-up, once both arrived. */
  async function announcements(s: Sent) {
    await waitFor(() => alertMailsFor(s).length > 0 && slackPostsFor(s).length > 0, ARRIVES_WITHIN_MS);
    return { mail: alertMailsFor(s)[0], post: slackPostsFor(s)[0] };
  }

  it('when a customer clicks "1" in the survey email, then it counts, one follow-up opens, and the billing lead gets exactly one email and Slack exactly one message linking to it', async () => {
    const s = svc!;
    low = await closeTicket('LOOP-1', { email: 'lou@example.com', name: 'Lou' });
    expect(await reminderRow(low)).toMatchObject({ status: 'pending', reason: null });

    const customer = await browser!.newContext();
    const page = await personClicks(customer, low, 1);
    expect(await page.locator('main strong').innerText()).toBe('1 – Awful');
    await shot(page, 'close-the-loop-1-rated-1.png');

    const followup = await followupOf(low);
    expect(followup).toMatchObject({ status: 'open', owner: null, outcome: null, score: 1, agent_id: AGENT.id, team: 'billing' });
    followupId = followup.id;
    expect((await followupEvents(followupId)).map((e) => [e.kind, e.author, e.status])).toEqual([['opened', null, 'open']]);
    const link = `${s.url}/followups#f${followupId}`;

    // The lead's email: to the billing lead only (not the default leads), the score, agent, ticket and the follow-up's link.
    const { mail, post } = await announcements(low);
    expect(mail.messageId).toMatch(new RegExp(`^<alert\\.${low.surveyId}\\.\\d+@[^>]+>$`));
    expect(addressesOf(mail)).toEqual([LEAD]);
    expect(mail.subject).toBe(`Low rating 1/5 for ${AGENT.name} on ticket LOOP-1`);
    expect(mail.text).toContain(`Low rating 1/5 for ${AGENT.name} (billing) on ticket LOOP-1: Refund for LOOP-1`);
    expect(mail.text).toContain(`Follow-up: ${link}`);
    // Slack's incoming webhook: JSON whose `text` it shows, and the same facts as fields.
    expect(post.contentType).toMatch(/^application\/json/);
    expect(post.path).toBe('/services/T000/B000/slack-stand-in');
    expect(post.body.text).toEqual(expect.stringContaining('Low rating 1/5'));
    expect(post.body.text).toEqual(expect.stringContaining(link));
    expect(post.body).toMatchObject({ event: 'alert.low_rating', followup_id: followupId, ticket_id: 'LOOP-1', score: 1, agent: AGENT, team: 'billing', followup_url: link });

    // The customer explains: the follow-up takes the comment, and no second alert is queued for it.
    await page.fill('#comment', COMMENT);
    await submitAndLoad(page, 'form:has(#comment) button[type="submit"]');
    expect(await page.inputValue('#comment')).toBe(COMMENT);
    await customer.close();
    expect((await s.db('surveys').where({ id: low.surveyId }).first()).comment).toBe(COMMENT);
    expect(await rowsAbout('lead_alerts', low)).toBe(1);
    expect(await rowsAbout('hook_outbox', low)).toBe(1);
    expect(await rowsAbout('followups', low)).toBe(1);
  }, JOURNEY_MS);

  it('when another customer clicks "5", then nothing is announced: a later "2" is, and only its announcements and the 1\'s ever arrive', async () => {
    high = await closeTicket('LOOP-5', { email: 'fay@example.com', name: 'Fay' });
    const happy = await browser!.newContext();
    const page = await personClicks(happy, high, 5);
    expect(await page.locator('main strong').innerText()).toBe('5 – Great');
    await happy.close();
    // The 5 is counted: its transaction (which would have queued any alert) committed.
    expect(await followupOf(high)).toBeUndefined();

    // The positive control: a 2 counted after the 5 is announced on both channels, so both workers ran after the 5 counted.
    second = await closeTicket('LOOP-2', { email: 'gus@example.com', name: 'Gus' });
    const unhappy = await browser!.newContext();
    await personClicks(unhappy, second, 2);
    await unhappy.close();
    const { mail, post } = await announcements(second);
    expect(mail.subject).toBe(`Low rating 2/5 for ${AGENT.name} on ticket LOOP-2`);
    expect(post.body.text).toEqual(expect.stringContaining('Low rating 2/5'));

    // Nothing about the 5, on either channel or in either outbox; still one of each about the 1 (its comment announced nothing).
    expect(await rowsAbout('lead_alerts', high)).toBe(0);
    expect(await rowsAbout('hook_outbox', high)).toBe(0);
    expect(alertMails().map((m) => m.subject)).toEqual([`Low rating 1/5 for ${AGENT.name} on ticket LOOP-1`, `Low rating 2/5 for ${AGENT.name} on ticket LOOP-2`]);
    expect(alertMails().every((m) => addressesOf(m).join() === LEAD)).toBe(true);
    expect(slackPosts.map((p) => [p.body.ticket_id, p.body.score])).toEqual([
      ['LOOP-1', 1],
      ['LOOP-2', 2],
    ]);
    expect(smtp.messages.some((m) => String(m.text).includes('LOOP-5') && !addressesOf(m).includes(high.customer.email))).toBe(false);
  }, JOURNEY_MS);

  it('when the lead opens the follow-up\'s link in a browser, then the page lets them take it, note it and resolve it, each recorded with the lead as author, at 1280 px and on a 390 px phone', async () => {
    const s = svc!;
    const link = `${s.url}/followups#f${followupId}`;
    const card = (page: Page) => page.locator(`#f${followupId}`);
    const state = async () => {
      const f = await followupOf(low);
      return { status: f.status, owner: f.owner, outcome: f.outcome, acted: f.first_action_at !== null, resolved: f.resolved_at !== null };
    };
    const events = async () => (await followupEvents(followupId)).map((e) => [e.kind, e.author, e.status, e.owner, e.outcome, e.note]);
    const noOverflow = async (page: Page) => expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // Without the credential the page asks for it.
    expect((await fetch(`${s.url}/followups`)).status).toBe(401);

    // The desk: the link from the alert email, the browser logged in with any user name and the admin token.
    const desk = await browser!.newContext({ viewport: { width: 1280, height: 800 }, extraHTTPHeaders: { Authorization: basic(LEAD_NAME, ADMIN_TOKEN) } });
    const page = await desk.newPage();
    const said = watch(page);
    expect((await page.goto(link))?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Follow-ups');
    // The queue, oldest first: the 1, then the 2; never the 5.
    expect(await page.locator('section.card').evaluateAll((cards) => cards.map((c) => c.id))).toEqual([`f${followupId}`, `f${(await followupOf(second)).id}`]);
    expect(await card(page).locator('p').first().innerText()).toBe(`1/5 · ticket LOOP-1 · ${AGENT.name} · billing`);
    expect(await page.locator('main').innerText()).not.toContain('LOOP-5');
    expect(await accessibilityProblems(page)).toEqual([]);
    await shot(page, 'followups-1280-1-queue.png');

    await submitAndLoad(page, `#f${followupId} button.take`);
    expect(page.url()).toMatch(new RegExp(`^${s.url}/followups\\??#f${followupId}$`)); // 303 back to the queue, at the follow-up
    expect(await state()).toEqual({ status: 'in_progress', owner: LEAD_NAME, outcome: null, acted: true, resolved: false });
    expect(await events()).toEqual([
      ['opened', null, 'open', null, null, null],
      ['changed', LEAD_NAME, 'in_progress', LEAD_NAME, null, null],
    ]);
    expect(await card(page).locator('p.muted').innerText()).toContain(`in_progress · taken by ${LEAD_NAME}`);
    expect(await card(page).locator('button.take').count()).toBe(0);

    await card(page).locator('textarea[name="note"]').fill(NOTE);
    await submitAndLoad(page, `#f${followupId} button.note`);
    expect(await state()).toEqual({ status: 'in_progress', owner: LEAD_NAME, outcome: null, acted: true, resolved: false });
    expect((await events()).at(-1)).toEqual(['note', LEAD_NAME, 'in_progress', LEAD_NAME, null, NOTE]);
    await shot(page, 'followups-1280-2-taken-and-noted-before-resolving.png');

    // The phone: the same lead, the same page at 390 px, no sideways scrolling; resolved from there.
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, extraHTTPHeaders: { Authorization: basic(LEAD_NAME, ADMIN_TOKEN) } });
    const mobile = await phone.newPage();
    const mobileSaid = watch(mobile);
    expect((await mobile.goto(link))?.status()).toBe(200);
    expect(await card(mobile).isVisible()).toBe(true);
    await noOverflow(mobile);
    expect(await accessibilityProblems(mobile)).toEqual([]);
    await shot(mobile, 'followups-390-1-before-resolving.png');
    await card(mobile).locator('select[name="outcome"]').selectOption('contacted');
    await submitAndLoad(mobile, `#f${followupId} button.resolve`);
    expect(await state()).toEqual({ status: 'resolved', owner: LEAD_NAME, outcome: 'contacted', acted: true, resolved: true });
    expect(await events()).toEqual([
      ['opened', null, 'open', null, null, null],
      ['changed', LEAD_NAME, 'in_progress', LEAD_NAME, null, null],
      ['note', LEAD_NAME, 'in_progress', LEAD_NAME, null, NOTE],
      ['changed', LEAD_NAME, 'resolved', LEAD_NAME, 'contacted', null],
    ]);
    // Resolved, it leaves the queue; the 2 waits there.
    expect(await card(mobile).count()).toBe(0);
    expect(await mobile.locator('section.card').count()).toBe(1);
    await noOverflow(mobile);
    await shot(mobile, 'followups-390-2-after-resolving.png');
    expect(troubles(mobileSaid)).toEqual([]);
    await phone.close();

    // Back at the desk: the resolved view shows it with its owner and outcome.
    expect((await page.goto(`${s.url}/followups?status=resolved`))?.status()).toBe(200);
    expect(await card(page).locator('p.muted').innerText()).toContain(`resolved · taken by ${LEAD_NAME} · contacted`);
    expect(await card(page).locator('form').count()).toBe(0);
    await shot(page, 'followups-1280-3-after-resolving.png');
    expect(troubles(said)).toEqual([]);
    await desk.close();
    // A lead's work announces nothing to the channels (they announce new follow-ups only).
    expect(slackPosts).toHaveLength(2);
  }, JOURNEY_MS);

  it('when customers stay silent, then each gets exactly one reminder threaded under the first email, and the rated and the unsubscribed get none', async () => {
    const s = svc!;
    const silent = await closeTicket('LOOP-S', { email: 'sam@example.com', name: 'Sam' });
    const leaving = await closeTicket('LOOP-U', { email: 'una@example.com', name: 'Una' });

    // The customer who leaves: the unsubscribe link from the email text, the page's form submitted in the browser.
    const unsubscribe = String(leaving.mail.text).match(/https?:\/\/\S+\/u\/[A-Za-z0-9_-]+/)?.[0];
    expect(unsubscribe).toMatch(new RegExp(`^${s.url}/u/`));
    const una = await browser!.newContext();
    const page = await una.newPage();
    const said = watch(page);
    expect((await page.goto(unsubscribe!))?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toBe('Stop survey emails?');
    expect(Number((await s.db('opt_outs').count({ n: '*' }).first())?.n)).toBe(0); // the GET changed nothing
    await submitAndLoad(page, 'form button[type="submit"]');
    expect(await page.locator('h1').innerText()).toBe('You will get no more survey emails.');
    await shot(page, 'close-the-loop-2-unsubscribed.png');
    expect(troubles(said)).toEqual([]);
    await una.close();
    expect(Number((await s.db('opt_outs').count({ n: '*' }).first())?.n)).toBe(1);
    const leavingReminder = await reminderRow(leaving);
    if (!(leavingReminder.status === 'pending' && Date.now() < at(leavingReminder.due_at))) {
      throw new Error(`the opt-out came after the reminder of LOOP-U fell due (${JSON.stringify(leavingReminder)}): the machine is too slow for REMINDER_AFTER_HOURS=${REMINDER_AFTER_HOURS}`);
    }

    // The silent customer's reminder, when it falls due.
    const isReminderOf = (x: Sent) => (m: ParsedMail) => m.messageId?.startsWith(`<reminder.${x.surveyId}@`) === true;
    await waitFor(() => smtp.messages.some(isReminderOf(silent)), REMINDER_AFTER_MS + ARRIVES_WITHIN_MS);
    const reminder = smtp.messages.find(isReminderOf(silent))!;
    expect(reminder.messageId).toBe(silent.mail.messageId!.replace(/^<survey\./, '<reminder.'));
    expect(reminder.inReplyTo).toBe(silent.mail.messageId);
    expect([reminder.references ?? []].flat()).toEqual([silent.mail.messageId]);
    expect(addressesOf(reminder)).toEqual([silent.customer.email]);
    expect(reminder.subject).toBe(silent.mail.subject);
    expect(reminder.text).toContain('A gentle reminder');
    const fresh = ratingLinks(reminder);
    expect(fresh).toHaveLength(5);
    expect(fresh.filter((l) => ratingLinks(silent.mail).includes(l))).toEqual([]); // fresh links

    // The positive control for "no second one": a customer who closes now gets a reminder one full
    // interval later, through the same worker's passes. When it is there, the first still has exactly one.
    const later = await closeTicket('LOOP-L', { email: 'lee@example.com', name: 'Lee' });
    await waitFor(() => smtp.messages.some(isReminderOf(later)), REMINDER_AFTER_MS + ARRIVES_WITHIN_MS);
    expect(smtp.messages.filter(isReminderOf(silent))).toHaveLength(1);
    expect(await reminderRow(silent)).toMatchObject({ status: 'sent', reason: null, attempts: 1 });
    expect((await s.db('surveys').where({ id: silent.surveyId }).first()).reminded_at).not.toBeNull();

    // The rated (the 1, the 5 and the 2) and the unsubscribed: each reminder decided when due, cancelled with its reason.
    const ended = async () =>
      Object.fromEntries(await Promise.all([low, high, second, leaving].map(async (x) => [x.ticketId, (({ status, reason }) => ({ status, reason }))(await reminderRow(x))])));
    const expected = {
      'LOOP-1': { status: 'cancelled', reason: 'rated' },
      'LOOP-5': { status: 'cancelled', reason: 'rated' },
      'LOOP-2': { status: 'cancelled', reason: 'rated' },
      'LOOP-U': { status: 'cancelled', reason: 'unsubscribed' },
    };
    await waitFor(async () => JSON.stringify(await ended()) === JSON.stringify(expected), REMINDER_AFTER_MS + ARRIVES_WITHIN_MS).catch(async () => {
      throw new Error(`reminders did not end as expected: ${JSON.stringify(await ended())}`);
    });
    expect(await ended()).toEqual(expected);
    // Exactly two reminders went out in the whole journey: the two silent customers', one each.
    expect(reminderMails().map((m) => addressesOf(m))).toEqual([[silent.customer.email], [later.customer.email]]);
    for (const x of [low, high, second, leaving]) expect(smtp.messages.filter((m) => addressesOf(m).includes(x.customer.email)).map((m) => m.messageId)).toEqual([x.mail.messageId]);
  }, JOURNEY_MS);
});
