/**
 * Issue 16: "A receiver answering 307 gets the signed rating, comment included, re-posted to
 * wherever it points (also internal addresses). http:// receivers are accepted without a word."
 * and "smtp:// does not require STARTTLS, so a man in the middle can strip it."
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/shared/logger';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';

const SECRET = 'rating-hook-secret-0123456789';
const COMMENT = 'Zebulon fixed it, but my invoice xyzzy-42 is still wrong';

/** An HTTP server on loopback that records every request and answers with `answer`. */
async function server(answer: (res: http.ServerResponse) => void) {
  const received: Array<{ method?: string; url?: string; body: string }> = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, body });
      answer(res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, received, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { logger: createLogger('info', sink), lines };
}

describe('rating webhooks never follow a redirect', () => {
  let t: TestApp;
  let elsewhere: Awaited<ReturnType<typeof server>>;
  let redirecting: Awaited<ReturnType<typeof server>>;
  let log: ReturnType<typeof capturedLogger>;
  const clock = manualClock(); // a retry is due only when the test moves the clock

  beforeEach(async () => {
    elsewhere = await server((res) => res.writeHead(204).end());
    redirecting = await server((res) => res.writeHead(307, { Location: `${elsewhere.url}/internal/admin` }).end());
    log = capturedLogger();
    t = await bootApp({ RATING_WEBHOOK_URL: `${redirecting.url}/hooks`, RATING_WEBHOOK_SECRET: SECRET, DELIVERY_MAX_ATTEMPTS: '2' }, clock, log.logger);
  });
  afterEach(async () => {
    await t.close();
    await Promise.all([elsewhere.close(), redirecting.close()]);
  });

  it('when the receiver answers 307 to another server, then that server receives nothing, the event is retried then failed, and the log has no comment', async () => {
    const created = await t.postWebhook(ticketPayload());
    const token = await t.services.surveys.issueToken(created.body.survey_id);
    // A 3 opens no follow-up (ALERT_MAX_SCORE 2): one event, the rating's own.
    await t.services.ratings.recordRating(token, { score: 3, comment: COMMENT });

    await t.services.hooks.drain();
    expect(redirecting.received).toHaveLength(1); // positive control: the receiver was asked
    expect(redirecting.received[0].body).toContain('xyzzy-42');
    expect(elsewhere.received).toEqual([]);
    const retried = await t.db('hook_outbox').first();
    expect([retried.status, retried.attempts, retried.last_error]).toEqual(['pending', 1, 'HTTP 307 (redirects are not followed)']);

    clock.advance(60_000);
    await t.services.hooks.drain();
    expect(elsewhere.received).toEqual([]);
    const failed = await t.db('hook_outbox').first();
    expect([failed.status, failed.attempts]).toEqual(['failed', 2]);

    const hookLines = log.lines.filter((l) => /rating webhook/.test(l));
    expect(hookLines.map((l) => JSON.parse(l).msg)).toEqual(['rating webhook will be retried', 'rating webhook failed for good']);
    expect(hookLines.every((l) => l.includes('HTTP 307'))).toBe(true);
    const all = log.lines.join('\n');
    expect(all).not.toMatch(/zebulon|xyzzy/i);
    expect(all).not.toContain('ann@example.com');
  });
});

describe('rating webhook receivers must be https:// (configuration)', () => {
  const env = (url: string, extra: Record<string, string> = {}) => ({ NODE_ENV: 'test', RATING_WEBHOOK_URL: url, RATING_WEBHOOK_SECRET: SECRET, ...extra });

  it('when a receiver is http:// and not loopback, then start-up stops naming RATING_WEBHOOK_URL and the opt-in, without its path or query', () => {
    let thrown: unknown;
    try {
      loadConfig(env('https://ok.example/a,http://hooks.example.com:8080/csat?key=receiver-credential'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/RATING_WEBHOOK_URL: http:\/\/hooks\.example\.com:8080 is http:\/\/ and not loopback/);
    expect(message).toContain('RATING_WEBHOOK_ALLOW_HTTP=true');
    expect(message).not.toContain('receiver-credential');
  });

  it.each(['https://hooks.example.com/csat', 'http://127.0.0.1:9000/x', 'http://127.8.9.10/x', 'http://localhost:8080/x', 'http://[::1]:8080/x'])(
    'when the receiver is %s, then it is accepted',
    (url) => {
      expect(loadConfig(env(url)).ratingWebhooks.urls).toEqual([url]);
    },
  );

  it('when the operator opts in with RATING_WEBHOOK_ALLOW_HTTP=true, then an http:// receiver elsewhere is accepted', () => {
    expect(loadConfig(env('http://relay.internal:8080/', { RATING_WEBHOOK_ALLOW_HTTP: 'true' })).ratingWebhooks.urls).toEqual(['http://relay.internal:8080/']);
    expect(() => loadConfig(env('http://relay.internal:8080/', { RATING_WEBHOOK_ALLOW_HTTP: 'yes' }))).toThrow(/RATING_WEBHOOK_ALLOW_HTTP: must be true or false/);
  });
});

describe('the alert webhook (ALERT_WEBHOOK_URL) follows the same rule', () => {
  it('when it is http:// and not loopback, then start-up stops naming it; https, loopback and the opt-in are accepted; a list is refused', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', ALERT_WEBHOOK_URL: 'http://hooks.slack.example/services/T0/B0/secret-path' })).toThrow(
      /ALERT_WEBHOOK_URL: http:\/\/hooks\.slack\.example is http:\/\/ and not loopback/,
    );
    expect(loadConfig({ NODE_ENV: 'test', ALERT_WEBHOOK_URL: 'https://hooks.slack.example/services/T0/B0/x' }).alertWebhookUrl).toBe('https://hooks.slack.example/services/T0/B0/x');
    expect(loadConfig({ NODE_ENV: 'test', ALERT_WEBHOOK_URL: 'http://127.0.0.1:9000/alerts' }).alertWebhookUrl).toBe('http://127.0.0.1:9000/alerts');
    expect(loadConfig({ NODE_ENV: 'test', ALERT_WEBHOOK_URL: 'http://chat.internal/hook', RATING_WEBHOOK_ALLOW_HTTP: 'true' }).alertWebhookUrl).toBe('http://chat.internal/hook');
    expect(() => loadConfig({ NODE_ENV: 'test', ALERT_WEBHOOK_URL: 'https://a.example/x,https://b.example/y' })).toThrow(/ALERT_WEBHOOK_URL: must be one http\(s\) URL/);
  });
});

describe('smtp:// requires STARTTLS', () => {
  let t: MailApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function sendOne(starttls: boolean, env: Record<string, string> = {}) {
    t = await bootWithSmtp(env, manualClock(), { starttls }); // a retry is due only when the clock moves: one attempt here
    const res = await t.postWebhook(ticketPayload());
    expect(res.status).toBe(202);
    await t.services.worker.drain();
    return { row: await t.db('outbox').first(), smtp: t.smtp };
  }

  it('when the server offers no STARTTLS, then by default nothing is sent (in clear or at all) and the email waits for a retry', async () => {
    const { row, smtp } = await sendOne(false);
    expect(smtp.state.connections).toBeGreaterThanOrEqual(1); // positive control: it did connect
    expect(smtp.messages).toEqual([]);
    expect(row.status).toBe('pending');
    expect(row.attempts).toBe(1);
    expect(row.last_error).toMatch(/ETLS/);
  });

  it('when the operator opts out with SMTP_ALLOW_PLAINTEXT=true, then the same server gets the email in clear', async () => {
    const { row, smtp } = await sendOne(false, { SMTP_ALLOW_PLAINTEXT: 'true' });
    expect(row.status).toBe('sent');
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.state.inClear).toBe(1);
  });

  it('when the server offers STARTTLS, then the email is sent encrypted', async () => {
    const { row, smtp } = await sendOne(true);
    expect(row.status).toBe('sent');
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.state.inClear).toBe(0);
  });
});

describe('SMTP_URL configuration', () => {
  it('when SMTP_URL asks nodemailer to skip STARTTLS, then start-up stops unless SMTP_ALLOW_PLAINTEXT=true', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://relay.example:25/?ignoreTLS=true' })).toThrow(/SMTP_URL: asks to send without STARTTLS.*SMTP_ALLOW_PLAINTEXT=true/);
    expect(() => loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://relay.example:25/?requireTLS=false' })).toThrow(/SMTP_ALLOW_PLAINTEXT/);
    expect(loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://relay.example:25/?ignoreTLS=true', SMTP_ALLOW_PLAINTEXT: 'true' }).smtpAllowPlaintext).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://relay.example:587' }).smtpAllowPlaintext).toBe(false);
  });
});
