import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import { fixtureText, HELPDESK_SECRETS, hmac } from '../helpers/helpdesks';

const SECRETS = HELPDESK_SECRETS;

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
    const raw = fixtureText(file);
    const res = await post(vendor, raw, signed[vendor](raw));
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    expect(await t.db('surveys').where({ id: res.body.survey_id }).first('source')).toEqual({ source: vendor });
    const again = await post(vendor, raw, signed[vendor](raw)); // the same request again: answered as before
    expect([again.status, again.body]).toEqual([202, res.body]);
    expect(await t.count('surveys')).toBe(1);
  });

  it.each(closes)('when %s posts with wrong credentials, then 401 and nothing is stored', async (vendor, file) => {
    const raw = fixtureText(file);
    const headers = Object.fromEntries(Object.entries(signed[vendor](raw)).map(([k, v]) => [k, k.toLowerCase().includes('event') ? v : `${v}x`]));
    expect((await post(vendor, raw, headers)).status).toBe(401);
    expect(await t.count('surveys')).toBe(0);
  });

  it('when Zendesk sends its reopen event before the survey is sent, then the survey is cancelled', async () => {
    const solved = fixtureText('zendesk/solved.json');
    await post('zendesk', solved, zendeskHeaders(solved));
    const reopened = fixtureText('zendesk/reopened.json');
    const res = await post('zendesk', reopened, zendeskHeaders(reopened));
    expect(res.body.status).toBe('cancelled');
  });

  it('when a payload lacks the customer email, then 400 naming the field', async () => {
    const raw = JSON.stringify({ ...JSON.parse(fixtureText('zendesk/solved.json')), customer: { name: 'Ann' } });
    const res = await post('zendesk', raw, zendeskHeaders(raw));
    expect(res.status).toBe(400);
    expect(res.body.details[0].path).toMatch(/customer\.email/);
  });

  it.each(closes)('when %s signs a close carrying an unpaired surrogate in any string, then 400 invalid_payload names it and nothing is stored', async (vendor, file) => {
    // Storage would keep U+FFFD for it: "T\ud800" and "T\udbff" would become one ticket (a 500 on the next close).
    for (const [extra, named] of [[{ note: 'T\ud800' }, 'note'], [{ ['k\udbff']: 1 }, 'k\udbff']] as const) {
      const raw = JSON.stringify({ ...JSON.parse(fixtureText(file)), ...extra });
      const res = await post(vendor, raw, signed[vendor](raw));
      expect([res.status, res.body.error, res.body.details?.[0]?.path]).toEqual([400, 'invalid_payload', named]);
    }
    expect(await t.count('surveys')).toBe(0);
  });

  it('when Zendesk closes tickets whose ids differ only in an unpaired surrogate, then each is refused, and a pair (an emoji) is stored exactly', async () => {
    const close = (ticketId: string) => JSON.stringify({ ...JSON.parse(fixtureText('zendesk/solved.json')), ticket_id: ticketId });
    for (const id of ['S-\ud800', 'S-\udbff', 'S-\ud800']) {
      const res = await post('zendesk', close(id), zendeskHeaders(close(id)));
      expect([res.status, res.body.error, res.body.details]).toEqual([400, 'invalid_payload', [{ path: 'ticket_id', message: expect.stringMatching(/unpaired surrogate/) }]]);
    }
    const emoji = await post('zendesk', close('S-\ud83d\ude00'), zendeskHeaders(close('S-\ud83d\ude00')));
    expect([emoji.status, (await t.db('surveys').where({ id: emoji.body.survey_id }).first()).ticket_id]).toEqual([202, 'S-😀']);
    expect(await t.count('surveys')).toBe(1);
  });

  it('when Zendesk sends ticket ids above 2^53 − 1 as JSON numbers, then each is refused naming the field (they would read as one ticket); as strings, or as numbers within range, they are stored exactly', async () => {
    const close = (id: string) => fixtureText('zendesk/solved.json').replace('"ticket_id": "35436"', `"ticket_id": ${id}`);
    expect(close('1')).toContain('"ticket_id": 1,'); // the fixture has the field where this test puts it
    for (const id of ['9007199255246304', '9007199255246305', '9.007199254740993e15', '12345678901234567890']) {
      const res = await post('zendesk', close(id), zendeskHeaders(close(id)));
      expect([res.status, res.body.error, res.body.details]).toEqual([400, 'invalid_payload', [{ path: 'ticket_id', message: expect.stringMatching(/loses digits/) }]]);
    }
    expect(await t.count('surveys')).toBe(0);
    for (const id of ['"9007199255246304"', '"9007199255246305"', '9007199254740991']) {
      const res = await post('zendesk', close(id), zendeskHeaders(close(id)));
      expect(res.status).toBe(202);
    }
    expect((await t.db('surveys').orderBy('ticket_id').pluck('ticket_id')).sort()).toEqual(['9007199254740991', '9007199255246304', '9007199255246305']);
  });

  it('when an adapter has no secret configured, then its route answers 404', async () => {
    const bare = await bootApp({});
    try {
      const raw = fixtureText('zendesk/solved.json');
      expect((await request(bare.app).post('/webhooks/zendesk').set('Content-Type', 'application/json').send(raw)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
