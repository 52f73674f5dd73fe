import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { fixtureText, HELPDESK_SECRETS, hmac } from '../helpers/helpdesks';

const SECRETS = HELPDESK_SECRETS;
const clock = manualClock(new Date('2026-11-20T12:00:00Z'));

/** Each vendor's own credentials for `raw`. */
const signed: Record<string, (raw: string) => Record<string, string>> = {
  zendesk: (raw) => {
    const ts = clock.now().toISOString(); // ISO 8601, as Zendesk sends it
    return { 'X-Zendesk-Webhook-Signature': hmac('sha256', SECRETS.ZENDESK_WEBHOOK_SECRET, ts + raw, 'base64'), 'X-Zendesk-Webhook-Signature-Timestamp': ts };
  },
  helpscout: (raw) => ({ 'X-HelpScout-Signature': hmac('sha1', SECRETS.HELPSCOUT_WEBHOOK_SECRET, raw, 'base64'), 'X-HelpScout-Event': 'convo.status' }),
  freshdesk: () => ({ 'X-Closeloop-Token': SECRETS.FRESHDESK_WEBHOOK_TOKEN }),
  intercom: (raw) => ({ 'X-Hub-Signature': `sha1=${hmac('sha1', SECRETS.INTERCOM_CLIENT_SECRET, raw, 'hex')}` }),
};

function post(t: TestApp, vendor: string, file: string) {
  const raw = fixtureText(file);
  const r = request(t.app).post(`/webhooks/${vendor}`).set('Content-Type', 'application/json');
  for (const [k, v] of Object.entries(signed[vendor](raw))) r.set(k, v);
  return r.send(raw);
}

const stored = (t: TestApp, id: string) => t.db('surveys').where({ id }).first('status', 'suppression_reason', 'agent_id', 'agent_name', 'credited_by');

/** The three-agents fixtures: [vendor, file, last replier, closer, assignee] (agent ids as each helpdesk names them). */
const THREE: Array<[string, string, string, string, string]> = [
  ['zendesk', 'zendesk/solved-three-agents.json', '571100', '411100', '235323'],
  ['helpscout', 'helpscout/convo-status-closed-three-agents.json', '57', '41', '99'],
  ['freshdesk', 'freshdesk/resolved-three-agents.json', 'katherine@support.example', 'grace@support.example', 'ada@support.example'],
  ['intercom', 'intercom/conversation-admin-closed-three-agents.json', '6120001', '7000001', '5017691'],
];

describe.each(['last_reply', 'closer', 'assignee'] as const)('AGENT_CREDIT=%s', (credit) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp({ ...SECRETS, AGENT_CREDIT: credit }, clock);
  });
  afterAll(() => t.close());

  it.each(THREE)('when %s closes a ticket whose assignee, closer and last replier differ, then the chosen one is credited and stored how', async (vendor, file, replier, closer, assignee) => {
    const res = await post(t, vendor, file);
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    const expected = { last_reply: replier, closer, assignee }[credit];
    expect(await stored(t, res.body.survey_id)).toMatchObject({ agent_id: expected, credited_by: credit });
  });

  it('when the generic contract sends agent, closed_by and last_replied_by, then AGENT_CREDIT chooses among them (agent is the assignee)', async () => {
    const res = await t.postWebhook(
      ticketPayload({ agent: { id: 'g-assignee' }, closed_by: { id: 'g-closer', name: 'Grace' }, last_replied_by: { id: 'g-replier', email: 'kj@support.example' } }),
    );
    const expected = { last_reply: 'g-replier', closer: 'g-closer', assignee: 'g-assignee' }[credit];
    expect(await stored(t, res.body.survey_id)).toMatchObject({ agent_id: expected, credited_by: credit });
  });

  it('when the generic contract sends only its agent, then that agent is credited as "payload", whatever AGENT_CREDIT says', async () => {
    const res = await t.postWebhook(ticketPayload({ agent: { id: 'a-7', name: 'Ada Lovelace' } }));
    expect(await stored(t, res.body.survey_id)).toMatchObject({ status: 'scheduled', agent_id: 'a-7', credited_by: 'payload' });
  });
});

describe('agent credit when nobody is assigned', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp(SECRETS, clock);
  });
  afterAll(() => t.close());

  it.each([
    ['helpscout', 'helpscout/convo-status-closed-unassigned.json', '41'],
    ['intercom', 'intercom/conversation-admin-closed-unassigned.json', '7000001'],
    ['zendesk', 'zendesk/solved-unassigned.json', '411100'],
  ])('when %s closes an unassigned ticket that names who closed it, then it is surveyed and credited to the closer (not no_agent)', async (vendor, file, closer) => {
    const res = await post(t, vendor, file);
    expect([res.status, res.body.status]).toEqual([202, 'scheduled']);
    expect(await stored(t, res.body.survey_id)).toMatchObject({ status: 'scheduled', agent_id: closer, agent_name: 'Grace Hopper', credited_by: 'closer' });
  });

  it('when a ticket has nobody to credit (Freshdesk, unassigned), then, and only then, it is suppressed as no_agent with no credited_by', async () => {
    const res = await post(t, 'freshdesk', 'freshdesk/resolved-unassigned.json');
    expect(res.body).toMatchObject({ status: 'suppressed', reason: 'no_agent' });
    expect(await stored(t, res.body.survey_id)).toEqual({ status: 'suppressed', suppression_reason: 'no_agent', agent_id: null, agent_name: null, credited_by: null });
  });

  it('when a candidate breaks the contract (closed_by with a bad email), then 400 naming it and nothing is stored', async () => {
    const before = await t.count('surveys');
    const res = await t.postWebhook(ticketPayload({ closed_by: { id: 'g-1', email: 'not-an-email' } }));
    expect([res.status, res.body.details[0].path]).toEqual([400, 'closed_by.email']);
    expect(await t.count('surveys')).toBe(before);
  });
});

describe('Zendesk event-subscription webhooks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp(SECRETS, clock);
  });
  afterAll(() => t.close());

  it('when a signed zen:event-type:ticket.status_changed arrives (ids only), then 400 naming the fix, and nothing is stored', async () => {
    const res = await post(t, 'zendesk', 'zendesk/event-subscription-status-changed.json');
    expect([res.status, res.body.error, res.body.details[0].path]).toEqual([400, 'invalid_payload', 'type']);
    expect(res.body.message).toMatch(/event-subscription webhook \(zen:event-type:ticket\.status_changed\)/);
    expect(res.body.message).toMatch(/trigger or automation.*JSON body from docs\/helpdesks\.md/);
    expect(await t.count('surveys')).toBe(0);
  });
});
