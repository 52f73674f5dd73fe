import request from 'supertest';
import { sampledIn, ticketSuppression } from '../../src/surveys/eligibility';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';

const DAY_MS = 86_400_000;

describe('whom to survey: each suppression reason is stored on the survey', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  const boot = async (env: Record<string, string> = {}) => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp(env, clock);
  };
  afterEach(() => t.close());

  /** Posts a ticket; answers the stored status and reason, checking the outbox agrees. */
  async function outcome(overrides: Record<string, unknown>) {
    const res = await t.postWebhook(ticketPayload(overrides));
    expect([200, 202]).toContain(res.status);
    const row = await t.db('surveys').where({ id: res.body.survey_id }).first();
    const outbox = await t.db('outbox').where({ survey_id: res.body.survey_id }).first();
    expect(Boolean(outbox)).toBe(row.status === 'scheduled');
    if (row.status === 'suppressed') expect(res.body).toEqual({ survey_id: row.id, status: 'suppressed', reason: row.suppression_reason });
    return row.suppression_reason ?? row.status;
  }

  it('when a ticket carries an excluded tag in any case, then excluded_tag; other tags are surveyed', async () => {
    await boot();
    expect(await outcome({ tags: ['vip', 'No_CSAT'] })).toBe('excluded_tag');
    expect(await outcome({ tags: ['spam'] })).toBe('excluded_tag');
    expect(await outcome({ tags: ['vip'] })).toBe('scheduled');
  });

  it('when SURVEY_EXCLUDE_TAGS is set, then it replaces the defaults', async () => {
    await boot({ SURVEY_EXCLUDE_TAGS: 'legal, Internal' });
    expect(await outcome({ tags: ['internal'] })).toBe('excluded_tag');
    expect(await outcome({ tags: ['spam'] })).toBe('scheduled');
  });

  it('when the customer is any agent seen before, then customer_is_agent', async () => {
    await boot();
    expect(await outcome({ agent: { id: 'a-1', email: 'Bob@Support.example' } })).toBe('scheduled');
    expect(await outcome({ customer: { email: 'bob@support.example' }, agent: { id: 'a-2', email: 'eve@support.example' } })).toBe('customer_is_agent');
  });

  it('when the customer is on an internal domain or its subdomain, then internal_domain', async () => {
    await boot({ INTERNAL_DOMAINS: 'corp.example, other.example' });
    expect(await outcome({ customer: { email: 'kim@corp.example' } })).toBe('internal_domain');
    expect(await outcome({ customer: { email: 'kim@eu.Corp.Example' } })).toBe('internal_domain');
    expect(await outcome({ customer: { email: 'kim@notcorp.example' } })).toBe('scheduled');
  });

  it('when the customer opted out, then opted_out', async () => {
    await boot();
    await t.db('opt_outs').insert({ email_hash: t.services.addressHash('ann@example.com'), created_at: clock.now() });
    expect(await outcome({ customer: { email: 'ANN@example.com' } })).toBe('opted_out');
  });

  it('when SURVEY_THROTTLE_DAYS=7, then a customer surveyed 6 days ago is throttled and one surveyed 8 days ago is not', async () => {
    await boot({ SURVEY_THROTTLE_DAYS: '7' });
    expect(await outcome({ customer: { email: 'ann@example.com' } })).toBe('scheduled');
    clock.advance(6 * DAY_MS);
    expect(await outcome({ customer: { email: 'Ann@Example.com' } })).toBe('throttled');
    clock.advance(2 * DAY_MS);
    expect(await outcome({ customer: { email: 'ann@example.com' } })).toBe('scheduled');
    expect(await outcome({ customer: { email: 'other@example.com' } })).toBe('scheduled');
  });

  it('when throttling is off (the default), then the same customer is surveyed for every ticket', async () => {
    await boot();
    expect(await outcome({ customer: { email: 'ann@example.com' } })).toBe('scheduled');
    expect(await outcome({ customer: { email: 'ann@example.com' } })).toBe('scheduled');
  });

  it('when SURVEY_SAMPLE_RATE=0.3, then exactly the tickets whose hash falls under 0.3 are surveyed, also when retried', async () => {
    await boot({ SURVEY_SAMPLE_RATE: '0.3' });
    const ids = Array.from({ length: 40 }, (_, i) => `T-sample-${i}`);
    for (const id of ids) {
      const expected = sampledIn(id, 0.3) ? 'scheduled' : 'sampled_out';
      expect(await outcome({ ticket_id: id })).toBe(expected);
      clock.advance(1000); // a retry signed afresh: a new request (an identical one would be a replay, answered as before)
      const retry = await t.postWebhook(ticketPayload({ ticket_id: id }));
      expect(retry.body.status).toBe('duplicate');
    }
    const surveyed = ids.filter((id) => sampledIn(id, 0.3)).length;
    expect(surveyed).toBeGreaterThan(0);
    expect(surveyed).toBeLessThan(ids.length);
  });

  it('when several reasons apply, then the first in the documented order is stored', async () => {
    await boot({ INTERNAL_DOMAINS: 'support.example' });
    expect(await outcome({ tags: ['spam'], customer: { email: 'ada@support.example' }, agent: { id: 'a', email: 'ada@support.example' } })).toBe('excluded_tag');
    expect(await outcome({ customer: { email: 'ada@support.example' }, agent: { id: 'a', email: 'ada@support.example' } })).toBe('customer_is_agent');
    // Ada, a known agent on an internal domain, closing as customer of another agent's ticket.
    expect(await outcome({ customer: { email: 'ADA@support.example' }, agent: { id: 'b', email: 'bob@support.example' } })).toBe('customer_is_agent');
    expect(await outcome({ customer: { email: 'kim@support.example' }, agent: { id: 'b', email: 'bob@support.example' } })).toBe('internal_domain');
  });

  it('when surveys are suppressed, then the reports count them by reason', async () => {
    await boot({ INTERNAL_DOMAINS: 'corp.example' });
    await outcome({ tags: ['spam'] });
    await outcome({ tags: ['no-survey'] });
    await outcome({ customer: { email: 'kim@corp.example' } });
    await outcome({});
    const res = await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`);
    expect(res.body.overall).toMatchObject({
      suppressed: 3,
      suppressed_by_reason: { excluded_tag: 2, internal_domain: 1, no_agent: 0, customer_is_agent: 0, opted_out: 0, throttled: 0, sampled_out: 0 },
    });
  });
});

describe('sampledIn', () => {
  it('when 10,000 ids are sampled at 0.25, then about a quarter are in, and rate 1 and 0 take all and none', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `ticket-${i}`);
    const share = ids.filter((id) => sampledIn(id, 0.25)).length / ids.length;
    expect(Math.abs(share - 0.25)).toBeLessThan(0.02);
    expect(ids.every((id) => sampledIn(id, 1))).toBe(true);
    expect(ids.some((id) => sampledIn(id, 0))).toBe(false);
  });
});

describe('ticketSuppression', () => {
  const policy = { excludeTags: ['spam'], internalDomains: [], sampleRate: 1, throttleDays: 0 };
  const ticket = { source: 'zendesk', ticketId: '1', closedAt: new Date(), customer: { email: 'ann@example.com' }, tags: [] };

  it('when a ticket closed without an agent, then no_agent; with one, nothing', () => {
    expect(ticketSuppression(ticket, policy)).toBe('no_agent');
    expect(ticketSuppression({ ...ticket, agent: { id: 'a-1' } }, policy)).toBeNull();
  });
});
