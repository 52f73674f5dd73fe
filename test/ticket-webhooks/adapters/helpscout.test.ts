import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helpscout } from '../../../src/ticket-webhooks/adapters/helpscout';
import { AdapterMappingError } from '../../../src/ticket-webhooks/adapters/types';

const SECRET = 'mZ9XbGHodXq7Lk2vPw4s';
const NOW = new Date('2026-11-20T12:00:00Z');
const raw = readFileSync(path.join(__dirname, '../../fixtures/helpscout/convo-status-closed.json'), 'utf8');
const conversation = JSON.parse(raw);

/** base64(HMAC-SHA1(secret, body)), computed here independently of the adapter. */
const sign = (body: string, secret = SECRET) => crypto.createHmac('sha1', secret).update(body).digest('base64');

function request(body: string, headers: Record<string, string | undefined>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(body), header: (name: string) => lower[name.toLowerCase()] };
}
const statusEvent = request('', { 'X-HelpScout-Event': 'convo.status' });
const ADA = { id: '99', name: 'Ada Lovelace', email: 'ada@support.example' };

const mapError = (body: unknown) => {
  try {
    helpscout.map(body, NOW, statusEvent);
  } catch (err) {
    if (err instanceof AdapterMappingError) return err.field;
    throw err;
  }
  throw new Error('expected an AdapterMappingError');
};

describe('helpscout adapter: verify', () => {
  it('when X-HelpScout-Signature is the base64 HMAC-SHA1 of the body, then it verifies', () => {
    expect(helpscout.verify(request(raw, { 'X-HelpScout-Signature': sign(raw) }), SECRET, NOW)).toBe(true);
  });

  it('when it was signed with another secret, then it does not verify', () => {
    expect(helpscout.verify(request(raw, { 'X-HelpScout-Signature': sign(raw, 'another-secret') }), SECRET, NOW)).toBe(false);
  });

  it('when the body changed after signing, then it does not verify', () => {
    const tampered = raw.replace('ann@example.com', 'eve@example.com');
    expect(helpscout.verify(request(tampered, { 'X-HelpScout-Signature': sign(raw) }), SECRET, NOW)).toBe(false);
  });

  it('when the signature header is missing, or hex instead of base64, then it does not verify', () => {
    expect(helpscout.verify(request(raw, {}), SECRET, NOW)).toBe(false);
    const hex = crypto.createHmac('sha1', SECRET).update(raw).digest('hex');
    expect(helpscout.verify(request(raw, { 'X-HelpScout-Signature': hex }), SECRET, NOW)).toBe(false);
  });
});

describe('helpscout adapter: map', () => {
  it('when a conversation is closed, then it maps to the exact ticket (no team: the payload has only mailboxId)', () => {
    expect(helpscout.map(conversation, NOW, statusEvent)).toStrictEqual({
      kind: 'closed',
      ticket: {
        source: 'helpscout',
        ticketId: '2391938111',
        closedAt: new Date('2026-11-20T11:58:02Z'),
        customer: { email: 'ann@example.com', name: 'Ann Customer' },
        agent: undefined,
        // No threads embedded: no last replier; Ada is assignee and closer (closedByUser).
        candidates: { lastReplier: undefined, closer: ADA, assignee: ADA },
        team: undefined,
        subject: 'Refund for order 42',
        tags: ['vip', 'refund'],
        locale: undefined,
        brand: undefined,
        threadMessageId: undefined,
      },
    });
  });

  it('when the closed conversation has no assignee and nobody closed it (closedBy 0), then it has no candidate', () => {
    const result = helpscout.map({ ...conversation, assignee: null, closedBy: 0, closedByUser: null }, NOW, statusEvent);
    expect(result.kind === 'closed' && result.ticket.candidates).toEqual({ lastReplier: undefined, closer: undefined, assignee: undefined });
  });

  it('when the status changes to active or pending, then it is a reopen of that conversation', () => {
    for (const status of ['active', 'pending']) {
      expect(helpscout.map({ ...conversation, status }, NOW, statusEvent)).toEqual({ kind: 'reopened', source: 'helpscout', ticketId: '2391938111' });
    }
  });

  it('when the status changes to spam, then it is ignored', () => {
    expect(helpscout.map({ ...conversation, status: 'spam' }, NOW, statusEvent)).toEqual({ kind: 'ignored', reason: 'status spam is not a close' });
  });

  it('when the event header names another event (e.g. convo.tags on a closed conversation), then it is ignored', () => {
    const tagsEvent = request('', { 'X-HelpScout-Event': 'convo.tags' });
    expect(helpscout.map(conversation, NOW, tagsEvent)).toEqual({ kind: 'ignored', reason: 'event convo.tags is not a status change' });
  });

  it('when the primary customer has no email, then the error names primaryCustomer.email', () => {
    expect(mapError({ ...conversation, primaryCustomer: { ...conversation.primaryCustomer, email: undefined } })).toBe('primaryCustomer.email');
    expect(mapError({ ...conversation, primaryCustomer: null })).toBe('primaryCustomer.email');
  });

  it('when the conversation id is missing, then the error names id', () => {
    expect(mapError({ ...conversation, id: undefined })).toBe('id');
    expect(mapError({ ...conversation, id: undefined, status: 'active' })).toBe('id');
  });
});

describe('helpscout adapter: agent candidates', () => {
  const GRACE = { id: '41', name: 'Grace Hopper', email: 'grace@support.example' };
  const KATHERINE = { id: '57', name: 'Katherine Johnson', email: 'katherine@support.example' };
  const load = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/helpscout', name), 'utf8'));
  const candidatesOf = (body: unknown) => {
    const result = helpscout.map(body, NOW, statusEvent);
    return result.kind === 'closed' ? result.ticket.candidates : undefined;
  };

  it('when assignee, closer and last replier are three people, then each is read (a draft, a note and customer threads are no reply)', () => {
    expect(candidatesOf(load('convo-status-closed-three-agents.json'))).toEqual({ lastReplier: KATHERINE, closer: GRACE, assignee: ADA });
  });

  it('when the closed conversation has no assignee but closedBy/closedByUser, then the closer is a candidate', () => {
    expect(candidatesOf(load('convo-status-closed-unassigned.json'))).toEqual({ lastReplier: undefined, closer: GRACE, assignee: undefined });
  });

  it('when only closedBy (an id) names the closer, then it is named from a thread that user wrote', () => {
    const three = load('convo-status-closed-three-agents.json');
    expect(candidatesOf({ ...three, closedByUser: undefined, closedBy: 57 })?.closer).toEqual(KATHERINE);
    expect(candidatesOf({ ...three, closedByUser: undefined, closedBy: 12 })?.closer).toEqual({ id: '12', name: undefined, email: undefined });
  });

  it('when threads carry no createdAt, then the first listed (Help Scout lists newest first) reply counts', () => {
    const three = load('convo-status-closed-three-agents.json');
    const threads = three._embedded.threads.map((t: Record<string, unknown>) => ({ ...t, createdAt: undefined }));
    expect(candidatesOf({ ...three, _embedded: { threads } })?.lastReplier).toEqual(KATHERINE);
  });

  it('when a candidate breaks the contract (the closer has a bad email), then the error names closedByUser.email', () => {
    const unassigned = load('convo-status-closed-unassigned.json');
    expect(mapError({ ...unassigned, closedByUser: { ...unassigned.closedByUser, email: 'not-an-email' } })).toBe('closedByUser.email');
  });
});
