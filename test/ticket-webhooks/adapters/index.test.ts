import crypto from 'node:crypto';
import { adapters } from '../../../src/ticket-webhooks/adapters';

const NOW = new Date('2026-11-20T12:00:00Z');

describe('adapters registry', () => {
  it('when routes look an adapter up by path segment, then each source maps to its own adapter', () => {
    expect(Object.keys(adapters).sort()).toEqual(['freshdesk', 'helpscout', 'intercom', 'zendesk']);
    for (const [source, adapter] of Object.entries(adapters)) expect(adapter.source).toBe(source);
  });

  it('when the configured secret is empty, then no adapter accepts even a request signed with the empty key', () => {
    const body = '{"event":"solved"}';
    const ts = NOW.toISOString();
    const mac = (alg: string, data: string, enc: 'hex' | 'base64') => crypto.createHmac(alg, '').update(data).digest(enc);
    const headers: Record<string, string> = {
      'x-zendesk-webhook-signature': mac('sha256', ts + body, 'base64'),
      'x-zendesk-webhook-signature-timestamp': ts,
      'x-helpscout-signature': mac('sha1', body, 'base64'),
      'x-hub-signature': 'sha1=' + mac('sha1', body, 'hex'),
      'x-closeloop-token': '',
      authorization: 'Basic ' + Buffer.from('user:').toString('base64'),
    };
    const req = { rawBody: Buffer.from(body), header: (name: string) => headers[name.toLowerCase()] };
    for (const adapter of Object.values(adapters)) expect(adapter.verify(req, '', NOW)).toBe(false);
  });
});
