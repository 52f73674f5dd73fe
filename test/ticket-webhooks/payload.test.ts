import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { toDate } from '../../src/shared/db';
import { FIXED_NOW, REMOVE, setPath } from './fixtures';

describe('POST /webhooks/ticket-closed payload handling', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({}, manualClock(FIXED_NOW));
  });
  afterEach(async () => {
    await t.close();
  });

  const surveyRow = (id: string) => t.db('surveys').where({ id }).first();

  async function accepted(body: unknown) {
    const res = await t.postWebhook(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ survey_id: expect.any(String), status: 'scheduled' });
    return surveyRow(res.body.survey_id);
  }

  it('when every optional field is null, then the survey is scheduled with those fields empty', async () => {
    const row = await accepted({
      ticket_id: 'T-null-optionals',
      closed_at: null,
      customer: { email: 'ann@example.com', name: null },
      agent: { id: 'a-7', name: null, email: null },
      team: null,
      subject: null,
      tags: null,
      locale: null,
      brand: null,
      thread_message_id: null,
    });
    expect(row).toMatchObject({
      ticket_id: 'T-null-optionals',
      customer_email: 'ann@example.com',
      customer_name: null,
      agent_id: 'a-7',
      agent_name: null,
      agent_email: null,
      team: null,
      subject: null,
      tags: '[]',
      locale: null,
      brand: null,
      thread_message_id: null,
      status: 'scheduled',
    });
    expect(toDate(row.closed_at)).toEqual(FIXED_NOW);
    expect(await t.count('outbox')).toBe(1);
  });

  it.each(['customer.name', 'agent.name', 'agent.email', 'team', 'subject', 'tags', 'locale', 'brand', 'thread_message_id', 'closed_at'])(
    'when only %s is absent, then the survey is still scheduled',
    async (path) => {
      await accepted(setPath(ticketPayload(), path, REMOVE));
    },
  );

  it('when the payload carries unknown fields at any level, then they are ignored and the survey is scheduled', async () => {
    const row = await accepted({
      ...ticketPayload({ ticket_id: 'T-extras' }),
      priority: 'urgent',
      custom_fields: { region: 'EU', score: [1, 2] },
      customer: { email: 'ann@example.com', name: 'Ann', phone: '+1 555 0100' },
      agent: { id: 'a-7', name: 'Ada Lovelace', email: 'ada@support.example', avatar_url: 'https://x.example/a.png' },
    });
    expect(row).toMatchObject({ ticket_id: 'T-extras', customer_name: 'Ann', agent_id: 'a-7' });
    expect(Object.keys(row)).not.toContain('priority');
  });

  it('when closed_at is absent, then it defaults to the time the webhook arrived', async () => {
    const payload = setPath(ticketPayload(), 'closed_at', REMOVE);
    const row = await accepted(payload);
    expect(toDate(row.closed_at)).toEqual(FIXED_NOW);
  });

  it('when closed_at carries a UTC offset, then the same instant is stored', async () => {
    const row = await accepted(ticketPayload({ closed_at: '2026-11-20T12:30:00+02:00' }));
    expect(toDate(row.closed_at)).toEqual(new Date('2026-11-20T10:30:00Z'));
  });

  it('when closed_at has fractional seconds, then it is accepted to the millisecond', async () => {
    const row = await accepted(ticketPayload({ closed_at: '2026-11-20T10:00:00.123Z' }));
    expect(toDate(row.closed_at)).toEqual(new Date('2026-11-20T10:00:00.123Z'));
  });

  it('when a ticket closes, then the agent snapshot (id, name, email, team) and ticket details are stored on the survey', async () => {
    const row = await accepted(
      ticketPayload({
        ticket_id: 'T-snapshot',
        agent: { id: 'a-42', name: 'Grace Hopper', email: 'grace@support.example' },
        team: 'tier-2',
        subject: 'Cannot log in',
        tags: ['login', 'vip'],
        locale: 'pt-BR',
        brand: 'Acme',
        thread_message_id: '<abc@mail.example>',
      }),
    );
    expect(row).toMatchObject({
      source: 'generic',
      ticket_id: 'T-snapshot',
      agent_id: 'a-42',
      agent_name: 'Grace Hopper',
      agent_email: 'grace@support.example',
      team: 'tier-2',
      subject: 'Cannot log in',
      locale: 'pt-BR',
      brand: 'Acme',
      thread_message_id: '<abc@mail.example>',
      status: 'scheduled',
      suppression_reason: null,
      message_id: `<survey.${row.id}@csat.example.test>`,
    });
    expect(JSON.parse(row.tags)).toEqual(['login', 'vip']);
    expect(toDate(row.created_at)).toEqual(FIXED_NOW);
  });

  it('when the ticket is scheduled, then its outbox row is pending and due now (no delay configured)', async () => {
    const row = await accepted(ticketPayload());
    const outbox = await t.db('outbox').where({ survey_id: row.id }).first();
    expect(outbox).toMatchObject({ status: 'pending', attempts: 0 });
    expect(toDate(outbox.due_at)).toEqual(FIXED_NOW);
  });

  it('when text fields have surrounding whitespace, then they are stored trimmed', async () => {
    const row = await accepted(ticketPayload({ ticket_id: '  T-trim  ', customer: { email: ' ann@example.com ', name: ' Ann ' } }));
    expect(row).toMatchObject({ ticket_id: 'T-trim', customer_email: 'ann@example.com', customer_name: 'Ann' });
  });

  it('when ticket_id is exactly 128 characters, then it is accepted', async () => {
    const id = 'T'.repeat(128);
    const row = await accepted(ticketPayload({ ticket_id: id }));
    expect(row.ticket_id).toBe(id);
  });

  it('when names contain non-ASCII letters, then they are stored unchanged', async () => {
    const row = await accepted(ticketPayload({ customer: { email: 'zoe@example.com', name: 'Zoë Ñúñez 王' }, subject: 'Résumé – “quotes”' }));
    expect(row).toMatchObject({ customer_name: 'Zoë Ñúñez 王', subject: 'Résumé – “quotes”' });
  });
});
