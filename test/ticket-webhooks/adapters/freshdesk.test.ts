import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freshdesk } from '../../../src/ticket-webhooks/adapters/freshdesk';
import { AdapterMappingError } from '../../../src/ticket-webhooks/adapters/types';

const SECRET = 'fd-7Qe2m9Kx4Lp8Zs1Vb6Nw';
const NOW = new Date('2026-11-20T12:00:00Z');
const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/freshdesk', name), 'utf8');
const raw = fixture('resolved.json');
const resolved = JSON.parse(raw);

function request(headers: Record<string, string | undefined>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(raw), header: (name: string) => lower[name.toLowerCase()] };
}
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

const mapError = (body: unknown) => {
  try {
    freshdesk.map(body, NOW);
  } catch (err) {
    if (err instanceof AdapterMappingError) return err.field;
    throw err;
  }
  throw new Error('expected an AdapterMappingError');
};

describe('freshdesk adapter: verify (Freshdesk signs nothing: a shared secret in a header or Basic auth)', () => {
  it('when X-Closeloop-Token carries the secret, then it verifies', () => {
    expect(freshdesk.verify(request({ 'X-Closeloop-Token': SECRET }), SECRET, NOW)).toBe(true);
  });

  it('when HTTP Basic carries the secret as password (any user name), then it verifies', () => {
    expect(freshdesk.verify(request({ Authorization: basic('freshdesk', SECRET) }), SECRET, NOW)).toBe(true);
    expect(freshdesk.verify(request({ Authorization: basic('', SECRET) }), SECRET, NOW)).toBe(true);
  });

  it('when the token or the password is wrong, then it does not verify', () => {
    expect(freshdesk.verify(request({ 'X-Closeloop-Token': 'wrong' }), SECRET, NOW)).toBe(false);
    expect(freshdesk.verify(request({ 'X-Closeloop-Token': SECRET + 'x' }), SECRET, NOW)).toBe(false);
    expect(freshdesk.verify(request({ Authorization: basic('freshdesk', 'wrong') }), SECRET, NOW)).toBe(false);
    expect(freshdesk.verify(request({ Authorization: basic(SECRET, '') }), SECRET, NOW)).toBe(false);
  });

  it('when a wrong token comes with a right Basic password, then it does not verify (the token header decides)', () => {
    expect(freshdesk.verify(request({ 'X-Closeloop-Token': 'wrong', Authorization: basic('x', SECRET) }), SECRET, NOW)).toBe(false);
  });

  it('when no credentials, or a malformed Authorization header, arrive, then it does not verify', () => {
    expect(freshdesk.verify(request({}), SECRET, NOW)).toBe(false);
    expect(freshdesk.verify(request({ Authorization: `Bearer ${SECRET}` }), SECRET, NOW)).toBe(false);
    expect(freshdesk.verify(request({ Authorization: 'Basic ' + Buffer.from(SECRET).toString('base64') }), SECRET, NOW)).toBe(false);
  });
});

describe('freshdesk adapter: map', () => {
  it('when the resolved fixture arrives, then it maps to the exact ticket (closedAt is now: no resolved-time placeholder)', () => {
    expect(freshdesk.map(resolved, NOW)).toStrictEqual({
      kind: 'closed',
      ticket: {
        source: 'freshdesk',
        ticketId: '1042',
        closedAt: NOW,
        customer: { email: 'ann@example.com', name: 'Ann Customer' },
        agent: undefined,
        candidates: { lastReplier: undefined, closer: undefined, assignee: { id: 'ada@support.example', name: 'Ada Lovelace', email: 'ada@support.example' } },
        team: 'Billing',
        subject: 'Refund for order 42',
        tags: ['vip', 'refund'],
        locale: undefined,
        brand: 'Acme Support',
        threadMessageId: undefined,
      },
    });
  });

  it('when tags come comma-separated with spaces (or a tag has a space inside), then each tag is trimmed and kept whole', () => {
    const result = freshdesk.map({ ...resolved, tags: 'vip, refund , late delivery' }, NOW);
    expect(result.kind === 'closed' && result.ticket.tags).toEqual(['vip', 'refund', 'late delivery']);
  });

  it('when the ticket is unassigned (agent placeholders render ""), then it maps with no agent', () => {
    const result = freshdesk.map({ ...resolved, agent: { id: '', name: '', email: '' } }, NOW);
    expect(result.kind === 'closed' && result.ticket.agent).toBeUndefined();
  });

  it('when the event is "closed", then it is a close too', () => {
    expect(freshdesk.map({ ...resolved, event: 'closed' }, NOW).kind).toBe('closed');
  });

  it('when the reopen rule fires, then it is a reopen of that ticket', () => {
    expect(freshdesk.map(JSON.parse(fixture('reopened.json')), NOW)).toEqual({ kind: 'reopened', source: 'freshdesk', ticketId: '1042' });
  });

  it('when the event is something else, then it is ignored', () => {
    expect(freshdesk.map({ ...resolved, event: 'pending' }, NOW)).toEqual({ kind: 'ignored', reason: 'event pending is not a close' });
  });

  it('when the requester email is missing, then the error names customer.email', () => {
    expect(mapError({ ...resolved, customer: { email: '', name: 'Ann' } })).toBe('customer.email');
  });

  it('when the event or the ticket id is missing, then the error names it', () => {
    expect(mapError({ ...resolved, event: '' })).toBe('event');
    expect(mapError({ ...resolved, ticket_id: '' })).toBe('ticket_id');
  });
});

describe('freshdesk adapter: agent candidates', () => {
  const load = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/freshdesk', name), 'utf8'));
  const candidatesOf = (body: unknown) => {
    const result = freshdesk.map(body, NOW);
    return result.kind === 'closed' ? result.ticket.candidates : undefined;
  };

  it('when the shipped body arrives, then the assignee ({{ticket.agent.*}}) is the only candidate', () => {
    expect(candidatesOf(resolved)).toEqual({ lastReplier: undefined, closer: undefined, assignee: { id: 'ada@support.example', name: 'Ada Lovelace', email: 'ada@support.example' } });
  });

  it('when a body also sends closed_by and last_replied_by, then all three are read', () => {
    expect(candidatesOf(load('resolved-three-agents.json'))).toEqual({
      lastReplier: { id: 'katherine@support.example', name: 'Katherine Johnson', email: 'katherine@support.example' },
      closer: { id: 'grace@support.example', name: 'Grace Hopper', email: 'grace@support.example' },
      assignee: { id: 'ada@support.example', name: 'Ada Lovelace', email: 'ada@support.example' },
    });
  });

  it('when the ticket is unassigned (placeholders render ""), then nobody is a candidate', () => {
    expect(candidatesOf(load('resolved-unassigned.json'))).toEqual({ lastReplier: undefined, closer: undefined, assignee: undefined });
  });
});
