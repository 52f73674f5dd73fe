import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { intercom } from '../../../src/ticket-webhooks/adapters/intercom';
import { AdapterMappingError } from '../../../src/ticket-webhooks/adapters/types';

const CLIENT_SECRET = '3b9f0c1e-5d2a-4c7b-9e8f-0a1b2c3d4e5f';
const NOW = new Date('2026-11-20T12:00:00Z');
const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/intercom', name), 'utf8');
const raw = fixture('conversation-admin-closed.json');
const closed = JSON.parse(raw);
const item = closed.data.item;
const ADA = { id: '5017691', name: 'Ada Lovelace', email: 'ada@support.example' };
const ANDY = { id: '3330619', name: 'Andy', email: 'andy@support.example' };
/** The notification with its conversation changed. */
const withItem = (changes: Record<string, unknown>) => ({ ...closed, data: { ...closed.data, item: { ...item, ...changes } } });

/** "sha1=" + hex HMAC-SHA1(client secret, body), computed here independently of the adapter. */
const sign = (body: string, secret = CLIENT_SECRET) => 'sha1=' + crypto.createHmac('sha1', secret).update(body).digest('hex');

function request(body: string, headers: Record<string, string | undefined>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(body), header: (name: string) => lower[name.toLowerCase()] };
}

const mapError = (body: unknown) => {
  try {
    intercom.map(body, NOW);
  } catch (err) {
    if (err instanceof AdapterMappingError) return err.field;
    throw err;
  }
  throw new Error('expected an AdapterMappingError');
};

describe('intercom adapter: verify', () => {
  it('when X-Hub-Signature is sha1=<hex HMAC-SHA1 of the body> with the client secret, then it verifies', () => {
    expect(intercom.verify(request(raw, { 'X-Hub-Signature': sign(raw) }), CLIENT_SECRET, NOW)).toBe(true);
  });

  it('when it was signed with another secret (e.g. the access token), then it does not verify', () => {
    expect(intercom.verify(request(raw, { 'X-Hub-Signature': sign(raw, 'dG9rOmFjY2Vzcy10b2tlbg==') }), CLIENT_SECRET, NOW)).toBe(false);
  });

  it('when the body changed after signing, then it does not verify', () => {
    const tampered = raw.replace('"topic": "conversation.admin.closed"', '"topic": "conversation.admin.opened"');
    expect(intercom.verify(request(tampered, { 'X-Hub-Signature': sign(raw) }), CLIENT_SECRET, NOW)).toBe(false);
  });

  it('when the header is missing or lacks the sha1= prefix, then it does not verify', () => {
    expect(intercom.verify(request(raw, {}), CLIENT_SECRET, NOW)).toBe(false);
    expect(intercom.verify(request(raw, { 'X-Hub-Signature': sign(raw).slice('sha1='.length) }), CLIENT_SECRET, NOW)).toBe(false);
  });
});

describe('intercom adapter: map', () => {
  it('when a 2.x conversation.admin.closed arrives, then it maps to the exact ticket (Ada assigned, and closed it with a message)', () => {
    expect(intercom.map(closed, NOW)).toStrictEqual({
      kind: 'closed',
      ticket: {
        source: 'intercom',
        ticketId: '147000000012345',
        closedAt: new Date('2026-11-20T11:58:02Z'),
        customer: { email: 'ann@example.com', name: 'Ann Customer' },
        agent: undefined,
        candidates: { lastReplier: ADA, closer: ADA, assignee: ADA },
        team: undefined,
        subject: undefined,
        tags: ['billing'],
        locale: undefined,
        brand: undefined,
        threadMessageId: undefined,
      },
    });
  });

  it('when an app on API 1.x sends user and assignee objects, then those are mapped (the admin-started message is a reply)', () => {
    expect(intercom.map(JSON.parse(fixture('conversation-admin-closed-v1.json')), NOW)).toStrictEqual({
      kind: 'closed',
      ticket: {
        source: 'intercom',
        ticketId: '137324500000000',
        closedAt: new Date('2026-11-20T11:58:03Z'),
        customer: { email: 'bob@example.com', name: 'Bob Dylan' },
        agent: undefined,
        candidates: { lastReplier: ANDY, closer: ANDY, assignee: ANDY },
        team: undefined,
        subject: undefined,
        tags: [],
        locale: undefined,
        brand: undefined,
        threadMessageId: undefined,
      },
    });
  });

  it('when the conversation has a title, then it is the subject; else a non-empty source subject', () => {
    const titled = intercom.map(withItem({ title: 'Charged twice' }), NOW);
    expect(titled.kind === 'closed' && titled.ticket.subject).toBe('Charged twice');
    const emailed = intercom.map(withItem({ source: { ...item.source, subject: 'Order 42' } }), NOW);
    expect(emailed.kind === 'closed' && emailed.ticket.subject).toBe('Order 42');
  });

  it('when no admin is assigned, wrote or closed anything in the payload, then it has no candidate', () => {
    const result = intercom.map(withItem({ admin_assignee_id: null, conversation_parts: null, statistics: null }), NOW);
    expect(result.kind === 'closed' && result.ticket.candidates).toEqual({ lastReplier: undefined, closer: undefined, assignee: undefined });
  });

  it('when the assigned admin wrote no part in the payload, then the assignee has an id only', () => {
    const result = intercom.map(withItem({ admin_assignee_id: 777 }), NOW);
    expect(result.kind === 'closed' && result.ticket.candidates?.assignee).toEqual({ id: '777', name: undefined, email: undefined });
  });

  it('when the statistics are missing, then closedAt is the notification time', () => {
    const result = intercom.map(withItem({ statistics: null }), NOW);
    expect(result.kind === 'closed' && result.ticket.closedAt).toEqual(new Date('2026-11-20T11:58:03Z'));
  });

  it('when conversation.admin.opened arrives, then it is a reopen of that conversation', () => {
    expect(intercom.map({ ...closed, topic: 'conversation.admin.opened' }, NOW)).toEqual({ kind: 'reopened', source: 'intercom', ticketId: '147000000012345' });
  });

  it('when another topic arrives (ping, a reply, a snooze), then it is ignored', () => {
    for (const topic of ['ping', 'conversation.user.replied', 'conversation.admin.snoozed']) {
      expect(intercom.map({ ...closed, topic }, NOW)).toEqual({ kind: 'ignored', reason: `topic ${topic} is not a close` });
    }
  });

  it('when an admin started the conversation (no customer email in a 2.x payload), then the error names source.author.email', () => {
    const outbound = withItem({ source: { ...item.source, delivered_as: 'admin_initiated', author: { type: 'admin', id: '5017691', name: 'Ada Lovelace', email: 'ada@support.example' } } });
    expect(mapError(outbound)).toBe('data.item.source.author.email');
  });

  it.each([
    ['beyond what a Date holds', 1e13],
    ['in year 9999', 253402300799],
    ['before 2000', 946684799],
  ])('when last_close_at is %s, then the error names it (not a crash, not a survey dated outside the calendar)', (_case, seconds) => {
    expect(mapError(withItem({ statistics: { ...item.statistics, last_close_at: seconds } }))).toBe('data.item.statistics.last_close_at');
  });

  it('when the topic or the conversation id is missing, then the error names it', () => {
    expect(mapError({ ...closed, topic: undefined })).toBe('topic');
    expect(mapError(withItem({ id: undefined }))).toBe('data.item.id');
    expect(mapError({ ...withItem({ id: undefined }), topic: 'conversation.admin.opened' })).toBe('data.item.id');
  });
});

describe('intercom adapter: agent candidates', () => {
  const GRACE = { id: '7000001', name: 'Grace Hopper', email: 'grace@support.example' };
  const KATHERINE = { id: '6120001', name: 'Katherine Johnson', email: 'katherine@support.example' };
  const candidatesOf = (body: unknown) => {
    const result = intercom.map(body, NOW);
    return result.kind === 'closed' ? result.ticket.candidates : undefined;
  };

  it('when assignee, closer and last replier are three people, then each is read (customer, Fin and note parts are no reply)', () => {
    expect(candidatesOf(JSON.parse(fixture('conversation-admin-closed-three-agents.json')))).toEqual({ lastReplier: KATHERINE, closer: GRACE, assignee: ADA });
  });

  it('when admin_assignee_id is null but the close part and statistics.last_closed_by_id name the closer, then the closer is a candidate', () => {
    expect(candidatesOf(JSON.parse(fixture('conversation-admin-closed-unassigned.json')))).toEqual({ lastReplier: undefined, closer: GRACE, assignee: undefined });
  });

  it('when the payload has no close part, then statistics.last_closed_by_id names the closer (id only unless a part names them)', () => {
    const unassigned = JSON.parse(fixture('conversation-admin-closed-unassigned.json'));
    unassigned.data.item.conversation_parts.conversation_parts = [];
    expect(candidatesOf(unassigned)?.closer).toEqual({ id: '7000001', name: undefined, email: undefined });
  });

  it('when the parts arrive out of order, then created_at decides which comment is the last reply', () => {
    const three = JSON.parse(fixture('conversation-admin-closed-three-agents.json'));
    three.data.item.conversation_parts.conversation_parts.reverse();
    expect(candidatesOf(three)?.lastReplier).toEqual(KATHERINE);
  });
});

describe('intercom adapter: closes by Fin', () => {
  it('when Fin (a bot) closed the conversation last, then nobody is the closer, even though an admin closed it once before', () => {
    const three = JSON.parse(fixture('conversation-admin-closed-three-agents.json'));
    const parts = three.data.item.conversation_parts.conversation_parts;
    parts.push({ ...parts.at(-1), id: '20182000008', created_at: 1795175990, author: { type: 'bot', id: '8000001', name: 'Fin', from_ai_agent: true } });
    const result = intercom.map(three, NOW);
    expect(result.kind === 'closed' && result.ticket.candidates?.closer).toBeUndefined();
  });
});
