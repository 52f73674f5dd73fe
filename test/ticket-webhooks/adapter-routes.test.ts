import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'fixtures', name), 'utf8');
const SECRETS = {
  ZENDESK_WEBHOOK_SECRET: 'zendesk-secret-0123',
  HELPSCOUT_WEBHOOK_SECRET: 'helpscout-secret-0123',
  FRESHDESK_WEBHOOK_TOKEN: 'freshdesk-token-0123456789',
  INTERCOM_CLIENT_SECRET: 'intercom-secret-0123',
};
const hmac = (alg: string, secret: string, data: string, enc: 'hex' | 'base64') => crypto.createHmac(alg, secret).update(data).digest(enc);

describe('helpdesk adapter routes (each vendor through the real service)', () => {
  let t: TestApp;
  const clock = manualClock(new Date('2026-11-20T12:00:00Z'));
  beforeEach(async () => {
    t = await bootApp(SECRETS, clock);
  });
  afterEach(() => t.close());

  const post = (vendor: string, raw: string, headers: Record<string, string>) => {
    const r = request(t.app).post(`/webhooks/${vendor}`).set('Content-Type', 'application/json');
    for (const [k, v] of Object.entries(headers)) r.set(k, v);
    return r.send(raw);
  };
  const zendeskHeaders = (raw: string, secret = SECRETS.ZENDESK_WEBHOOK_SECRET) => {
    const ts = clock.now().toISOString().replace(/\.\d+Z$/, 'Z');
    return { 'X-Zendesk-Webhook-Signature': hmac('sha256', secret, ts + raw, 'base64'), 'X-Zendesk-Webhook-Signature-Timestamp': ts };
  };
  const signed: Record<string, (raw: string) => Record<string, string>> = {
    zendesk: (raw) => zendeskHeaders(raw),
    helpscout: (raw) => ({ 'X-HelpScout-Signature': hmac('sha1', SECRETS.HELPSCOUT_WEBHOOK_SECRET, raw, 'base64'), 'X-HelpScout-Event': 'convo.status' }),
    freshdesk: () => ({ 'X-Closeloop-Token': SECRETS.FRESHDESK_WEBHOOK_TOKEN }),
    intercom: (raw) => ({ 'X-Hub-Signature': `sha1=${hmac('sha1', SECRETS.INTERCOM_CLIENT_SECRET, raw, 'hex')}` }),
  };
  const closes: Array<[string, string]> = [
    ['zendesk', 'zendesk/solved.json'],
    ['helpscout', 'helpscout/convo-status-closed.json'],
    ['freshdesk', 'freshdesk/resolved.json'],
    ['intercom', 'intercom/conversation-admin-closed.json'],
  ];

  it.each(closes)('when %s posts its close fixture with valid credentials, then a survey is scheduled under that source, once', async (vendor, file) => {
    const raw = fixture(file);
    const res = await post(vendor, raw, signed[vendor](raw));
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    expect(await t.db('surveys').where({ id: res.body.survey_id }).first('source')).toEqual({ source: vendor });
    const again = await post(vendor, raw, signed[vendor](raw)); // the same request again: answered as before
    expect([again.status, again.body]).toEqual([202, res.body]);
    expect(await t.count('surveys')).toBe(1);
  });

  it.each(closes)('when %s posts with wrong credentials, then 401 and nothing is stored', async (vendor, file) => {
    const raw = fixture(file);
    const headers = Object.fromEntries(Object.entries(signed[vendor](raw)).map(([k, v]) => [k, k.toLowerCase().includes('event') ? v : `${v}x`]));
    expect((await post(vendor, raw, headers)).status).toBe(401);
    expect(await t.count('surveys')).toBe(0);
  });

  it('when Zendesk sends its reopen event before the survey is sent, then the survey is cancelled', async () => {
    const solved = fixture('zendesk/solved.json');
    await post('zendesk', solved, zendeskHeaders(solved));
    const reopened = fixture('zendesk/reopened.json');
    const res = await post('zendesk', reopened, zendeskHeaders(reopened));
    expect(res.body.status).toBe('cancelled');
  });

  it('when a payload lacks the customer email, then 400 naming the field', async () => {
    const raw = JSON.stringify({ ...JSON.parse(fixture('zendesk/solved.json')), customer: { name: 'Ann' } });
    const res = await post('zendesk', raw, zendeskHeaders(raw));
    expect(res.status).toBe(400);
    expect(res.body.details[0].path).toMatch(/customer\.email/);
  });

  it('when an adapter has no secret configured, then its route answers 404', async () => {
    const bare = await bootApp({});
    try {
      const raw = fixture('zendesk/solved.json');
      expect((await request(bare.app).post('/webhooks/zendesk').set('Content-Type', 'application/json').send(raw)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
