import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { zendesk } from '../../../src/ticket-webhooks/adapters/zendesk';
import { AdapterMappingError } from '../../../src/ticket-webhooks/adapters/types';

const SECRET = 'dGhpcyBpcyBhIHplbmRlc2sgc2lnbmluZyBzZWNyZXQ=';
const NOW = new Date('2026-11-20T12:00:00Z');
const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/zendesk', name), 'utf8');

/** base64(HMAC-SHA256(secret, timestamp + body)), computed here independently of the adapter. */
const sign = (timestamp: string, raw: string, secret = SECRET) =>
  crypto.createHmac('sha256', secret).update(timestamp + raw).digest('base64');

function request(raw: string, headers: Record<string, string | undefined>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(raw), header: (name: string) => lower[name.toLowerCase()] };
}
const signed = (raw: string, timestamp = '2026-11-20T11:59:58Z', secret = SECRET) =>
  request(raw, { 'X-Zendesk-Webhook-Signature': sign(timestamp, raw, secret), 'X-Zendesk-Webhook-Signature-Timestamp': timestamp });

const mapError = (body: unknown) => {
  try {
    zendesk.map(body, NOW);
  } catch (err) {
    if (err instanceof AdapterMappingError) return err.field;
    throw err;
  }
  throw new Error('expected an AdapterMappingError');
};

describe('zendesk adapter: verify', () => {
  const raw = fixture('solved.json');

  it('when the body is signed with the webhook secret over timestamp + body, then it verifies', () => {
    expect(zendesk.verify(signed(raw), SECRET, NOW)).toBe(true);
  });

  it('when it was signed with another secret, then it does not verify', () => {
    expect(zendesk.verify(signed(raw, undefined, 'another-secret'), SECRET, NOW)).toBe(false);
  });

  it('when one byte of the body changed after signing, then it does not verify', () => {
    const req = signed(raw);
    expect(zendesk.verify({ ...req, rawBody: Buffer.from(raw.replace('35436', '35437')) }, SECRET, NOW)).toBe(false);
  });

  it('when the signature or the timestamp header is missing, then it does not verify', () => {
    const ts = '2026-11-20T11:59:58Z';
    expect(zendesk.verify(request(raw, { 'X-Zendesk-Webhook-Signature-Timestamp': ts }), SECRET, NOW)).toBe(false);
    expect(zendesk.verify(request(raw, { 'X-Zendesk-Webhook-Signature': sign(ts, raw) }), SECRET, NOW)).toBe(false);
  });

  it('when the timestamp is more than 300 s from now (either way), then it does not verify, even correctly signed', () => {
    expect(zendesk.verify(signed(raw, '2026-11-20T11:54:59Z'), SECRET, NOW)).toBe(false);
    expect(zendesk.verify(signed(raw, '2026-11-20T12:05:01Z'), SECRET, NOW)).toBe(false);
    expect(zendesk.verify(signed(raw, '2026-11-20T11:55:00Z'), SECRET, NOW)).toBe(true);
  });

  it('when the timestamp is not a date, then it does not verify', () => {
    expect(zendesk.verify(signed(raw, 'yesterday'), SECRET, NOW)).toBe(false);
  });
});

describe('zendesk adapter: map', () => {
  const solved = JSON.parse(fixture('solved.json'));

  it('when the solved fixture arrives, then it maps to the exact ticket (tags split on spaces, "English" is no language tag)', () => {
    expect(zendesk.map(solved, NOW)).toStrictEqual({
      kind: 'closed',
      ticket: {
        source: 'zendesk',
        ticketId: '35436',
        closedAt: new Date('2026-11-20T11:58:00Z'),
        customer: { email: 'ann@example.com', name: 'Ann Customer' },
        agent: undefined,
        // A body without closed_by (set up before it was documented): the assignee is the only candidate.
        candidates: { lastReplier: undefined, closer: undefined, assignee: { id: '235323', name: 'Ada Lovelace', email: 'ada@support.example' } },
        team: 'Billing',
        subject: 'Refund for order 42',
        tags: ['vip', 'refund', 'billing'],
        locale: undefined,
        brand: 'Acme',
        threadMessageId: undefined,
      },
    });
  });

  it('when the requester language renders as a language tag, then it becomes the locale', () => {
    const result = zendesk.map({ ...solved, locale: 'pt-BR' }, NOW);
    expect(result.kind === 'closed' && result.ticket.locale).toBe('pt-BR');
  });

  it('when the ticket has no assignee (placeholders render ""), then it maps with no candidate', () => {
    const result = zendesk.map({ ...solved, agent: { id: '', name: '', email: '' } }, NOW);
    expect(result.kind === 'closed' && result.ticket.candidates).toEqual({ lastReplier: undefined, closer: undefined, assignee: undefined });
  });

  it('when closed_at, team and tags are blank, then closedAt is now and the others are absent', () => {
    const result = zendesk.map({ ...solved, closed_at: '', team: '', tags: '' }, NOW);
    expect(result.kind === 'closed' && [result.ticket.closedAt, result.ticket.team, result.ticket.tags]).toEqual([NOW, undefined, []]);
  });

  it('when the reopen trigger fires, then it is a reopen of that ticket', () => {
    expect(zendesk.map(JSON.parse(fixture('reopened.json')), NOW)).toEqual({ kind: 'reopened', source: 'zendesk', ticketId: '35436' });
  });

  it('when the event is neither solved nor reopened, then it is ignored', () => {
    expect(zendesk.map({ ...solved, event: 'pending' }, NOW)).toEqual({ kind: 'ignored', reason: 'event pending is not a close' });
  });

  it('when the requester email is missing or blank, then the error names customer.email', () => {
    expect(mapError({ ...solved, customer: { email: '', name: 'Ann' } })).toBe('customer.email');
    expect(mapError({ ...solved, customer: undefined })).toBe('customer.email');
  });

  it('when a value breaks the contract (bad email, line break in the subject, no event, no ticket id), then the error names it', () => {
    expect(mapError({ ...solved, customer: { email: 'not-an-email' } })).toBe('customer.email');
    expect(mapError({ ...solved, subject: 'Refund\r\nBcc: x@evil.example' })).toBe('subject');
    expect(mapError({ ...solved, event: undefined })).toBe('event');
    expect(mapError({ ...solved, ticket_id: '' })).toBe('ticket_id');
    expect(mapError({ event: 'reopened' })).toBe('ticket_id');
  });
});

describe('zendesk adapter: agent candidates and event subscriptions', () => {
  const GRACE = { id: '411100', name: 'Grace Hopper', email: 'grace@support.example' };
  const candidatesOf = (body: unknown) => {
    const result = zendesk.map(body, NOW);
    return result.kind === 'closed' ? result.ticket.candidates : undefined;
  };

  it('when the body sends the assignee, closed_by ({{current_user}}) and last_replied_by, then each is read', () => {
    expect(candidatesOf(JSON.parse(fixture('solved-three-agents.json')))).toEqual({
      lastReplier: { id: '571100', name: 'Katherine Johnson', email: 'katherine@support.example' },
      closer: GRACE,
      assignee: { id: '235323', name: 'Ada Lovelace', email: 'ada@support.example' },
    });
  });

  it('when the ticket is unassigned, then the agent who solved it is a candidate', () => {
    expect(candidatesOf(JSON.parse(fixture('solved-unassigned.json')))).toEqual({ lastReplier: undefined, closer: GRACE, assignee: undefined });
  });

  it('when an end user solved the ticket (role End user, or the requester themselves), then they are no candidate', () => {
    const unassigned = JSON.parse(fixture('solved-unassigned.json'));
    expect(candidatesOf({ ...unassigned, closed_by: { ...GRACE, role: 'End user' } })?.closer).toBeUndefined();
    expect(candidatesOf({ ...unassigned, closed_by: { ...GRACE, role: 'end-user' } })?.closer).toBeUndefined();
    expect(candidatesOf({ ...unassigned, closed_by: { id: '238604', name: 'Ann', email: 'ANN@example.com', role: '' } })?.closer).toBeUndefined();
  });

  it('when an event-subscription webhook (zen:event-type:…, ids only) arrives, then the error names type and the fix', () => {
    const event = JSON.parse(fixture('event-subscription-status-changed.json'));
    expect(mapError(event)).toBe('type');
    expect(() => zendesk.map(event, NOW)).toThrow(/event-subscription webhook \(zen:event-type:ticket\.status_changed\).*trigger or automation.*docs\/helpdesks\.md/);
  });
});

describe('zendesk adapter: the ISO 8601 signature timestamp', () => {
  const raw = fixture('solved.json');

  it('when X-Zendesk-Webhook-Signature-Timestamp is ISO 8601 in its usual forms, then it verifies (signed over the header text as sent)', () => {
    for (const ts of ['2026-11-20T11:59:58Z', '2026-11-20T11:59:58.123Z', '2026-11-20T12:59:58+01:00', '2026-11-20T11:59Z']) {
      expect([ts, zendesk.verify(signed(raw, ts), SECRET, NOW)]).toEqual([ts, true]);
    }
  });

  it('when the ISO 8601 time is more than 5 minutes off once its offset is applied, then it does not verify', () => {
    expect(zendesk.verify(signed(raw, '2026-11-20T11:59:58-01:00'), SECRET, NOW)).toBe(false);
    expect(zendesk.verify(signed(raw, '2026-11-20'), SECRET, NOW)).toBe(false);
  });
});
