/**
 * "Is this customer one of our agents" reads agent_emails, one row per address an agent came with
 * (migration 20261201030000_agent_emails), instead of an index over every survey's agent address.
 */
import * as agentEmails from '../../migrations/20261201030000_agent_emails';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';

describe('agent_emails: the addresses agents came with', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({}, manualClock(new Date('2026-11-20T10:05:00Z')));
  });
  afterEach(() => t.close());

  const stored = async () => (await t.db('agent_emails').orderBy('email').pluck('email')) as string[];
  const post = async (overrides: Record<string, unknown>) => {
    const res = await t.postWebhook(ticketPayload(overrides));
    expect([200, 202]).toContain(res.status);
    return res.body as { status: string; reason?: string };
  };

  it('when tickets come with agents, concurrently and in any case, then each address is stored once, lowercased, suppressed surveys included', async () => {
    const agents = ['Bob@Support.example', 'bob@support.example', 'eve@support.example', 'Zoe@Support.example'];
    await Promise.all(agents.flatMap((email, i) => [0, 1, 2].map((n) => post({ customer: { email: `c${i}-${n}@example.com` }, agent: { id: `a-${i}`, email } }))));
    await post({ tags: ['spam'], customer: { email: 'x@example.com' }, agent: { id: 'a-9', email: 'Spam.Agent@support.example' } });
    await post({ customer: { email: 'y@example.com' }, agent: { id: 'a-10' } }); // an agent without an address adds none
    expect(await stored()).toEqual(['bob@support.example', 'eve@support.example', 'spam.agent@support.example', 'zoe@support.example']);
    // Each is known from then on: one of them as a customer is not surveyed.
    expect(await post({ customer: { email: ' ZOE@support.example ' } })).toMatchObject({ status: 'suppressed', reason: 'customer_is_agent' });
  });

  it('when a ticket names agents besides the credited one (assignee, closer), then their addresses count as agents too, on this ticket and later ones', async () => {
    // AGENT_CREDIT last_reply: with no last replier the closer is credited; the assignee is an agent all the same.
    const assigned = { agent: { id: 'x-1', email: 'Xena@support.example' }, closed_by: { id: 'y-1', email: 'yuri@support.example' } };
    expect(await post({ customer: { email: 'ann@example.com' }, ...assigned })).toMatchObject({ status: 'scheduled' });
    expect(await t.db('surveys').pluck('agent_id')).toEqual(['y-1']);
    expect(await stored()).toEqual(['xena@support.example', 'yuri@support.example']);
    expect(await post({ customer: { email: 'xena@support.example' } })).toMatchObject({ status: 'suppressed', reason: 'customer_is_agent' });
    // On its own ticket: a customer who is that ticket's assignee, while the closer is credited.
    const own = { agent: { id: 'z-1', email: 'zed@support.example' }, closed_by: { id: 'y-1', email: 'yuri@support.example' } };
    expect(await post({ customer: { email: 'Zed@Support.example' }, ...own })).toMatchObject({ status: 'suppressed', reason: 'customer_is_agent' });
  });

  it('when the migration runs on surveys stored before it, then it finds the same addresses as the writes keep', async () => {
    for (const email of ['Ada@Support.example', 'bob@support.example', 'ada@support.example']) await post({ customer: { email: 'ann@example.com' }, agent: { id: 'a', email } });
    const kept = await stored();
    expect(kept).toEqual(['ada@support.example', 'bob@support.example']);
    await agentEmails.down(t.db);
    await agentEmails.up(t.db);
    expect(await stored()).toEqual(kept);
    expect(await post({ customer: { email: 'bob@support.example' }, agent: { id: 'a', email: 'ada@support.example' } })).toMatchObject({ reason: 'customer_is_agent' });
  });
});
