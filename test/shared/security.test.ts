import request from 'supertest';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

const nonceIn = (csp: string, directive: string) => new RegExp(`${directive} 'nonce-([^']+)'`).exec(csp)?.[1];

describe('security headers and the content security policy', () => {
  let t: TestApp;
  let token: string;
  beforeEach(async () => {
    t = await bootApp();
    const res = await t.postWebhook(ticketPayload({ agent: { id: 'a-1', name: '<script>alert(1)</script>' } }));
    token = await t.services.surveys.issueToken(res.body.survey_id);
  });
  afterEach(() => t.close());

  it('when the rating page is served, then its one script and style carry this response\'s nonce, which the policy allows, and no other inline code runs', async () => {
    const first = await request(t.app).get(`/r/${token}/4`);
    const csp = first.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const nonce = nonceIn(csp, 'script-src');
    expect(nonce).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/); // a random UUID: 122 random bits
    expect(nonceIn(csp, 'style-src')).toBe(nonce);
    expect(first.text).toContain(`<script nonce="${nonce}">`);
    expect(first.text).toContain(`<style nonce="${nonce}">`);
    expect(first.text).not.toMatch(/csp-nonce-/);
    const second = await request(t.app).get(`/r/${token}/4`);
    expect(nonceIn(second.headers['content-security-policy'], 'script-src')).not.toBe(nonce);
  });

  it('when any route answers, then the usual hardening headers are set', async () => {
    for (const path of ['/healthz', `/r/${token}`, '/no-such-page']) {
      const res = await request(t.app).get(path);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toBeDefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('when the reports dashboard shows a name with markup, then it is escaped and the page still has only nonced code', async () => {
    const res = await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`).set('Accept', 'text/html');
    const nonce = nonceIn(res.headers['content-security-policy'], 'style-src');
    expect(res.text).toContain(`<style nonce="${nonce}">`);
    expect(res.text).not.toContain('<script>alert(1)</script>');
  });

  it('when the email preview is served, then inline styles are allowed there (the email needs them) and scripts still are not', async () => {
    const res = await request(t.app).get('/preview/handling').set('Authorization', `Bearer ${t.config.reportsToken}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toContain("style-src 'unsafe-inline'");
    expect(res.headers['content-security-policy']).toContain("script-src 'none'");
  });
});

describe('rate limits', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('when one address opens rating links more than RATE_LIMIT_PER_MINUTE times, then it gets 429 for the rest of the minute', async () => {
    t = await bootApp({ RATE_LIMIT_PER_MINUTE: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(t.app).get('/r/not-a-token/4')).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    expect((await request(t.app).get('/u/not-a-token')).status).toBe(429); // one budget for /r and /u
    expect((await request(t.app).get('/healthz')).status).toBe(200); // other routes are not limited
  });

  it('when one address sends webhooks with bad signatures, then after WEBHOOK_AUTH_FAILURES_PER_MINUTE failures its refusals answer 429; valid webhooks never count and are never refused', async () => {
    t = await bootApp({ WEBHOOK_AUTH_FAILURES_PER_MINUTE: '2' });
    for (let i = 0; i < 5; i++) expect((await t.postWebhook(ticketPayload())).status).toBe(202);
    const bad = () => t!.postWebhook(ticketPayload(), { secret: 'not-the-secret-0123456789' });
    expect([(await bad()).status, (await bad()).status, (await bad()).status]).toEqual([401, 401, 429]);
    const valid = await t.postWebhook(ticketPayload());
    expect(valid.status).toBe(202);
    expect(await t.count('surveys')).toBe(6);
  });
});

describe('TRUST_PROXY', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('when the proxy in front is trusted, then each customer behind it has their own rate-limit budget', async () => {
    t = await bootApp({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: 'loopback' });
    const from = (client: string) => request(t!.app).get('/r/not-a-token/4').set('X-Forwarded-For', client);
    expect([(await from('203.0.113.1')).status, (await from('203.0.113.1')).status, (await from('203.0.113.1')).status]).toEqual([404, 404, 429]);
    expect((await from('203.0.113.2')).status).toBe(404);
  });

  it('when the proxy is not trusted, then X-Forwarded-For is ignored and everyone shares the proxy address budget', async () => {
    t = await bootApp({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '10.9.9.9' });
    const from = (client: string) => request(t!.app).get('/r/not-a-token/4').set('X-Forwarded-For', client);
    expect([(await from('203.0.113.1')).status, (await from('203.0.113.2')).status, (await from('203.0.113.3')).status]).toEqual([404, 404, 429]);
  });
});

describe('the refused-webhook limit under a burst', () => {
  it('when a helpdesk sends 60 valid webhooks at once with the limit at 2, then every one is accepted', async () => {
    const t = await bootApp({ WEBHOOK_AUTH_FAILURES_PER_MINUTE: '2' });
    try {
      const answers = await Promise.all(Array.from({ length: 60 }, () => t.postWebhook(ticketPayload())));
      expect(answers.map((a) => a.status)).toEqual(Array(60).fill(202));
    } finally {
      await t.close();
    }
  });
});
