import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { expectNothingStored, FIXED_NOW, REMOVE, sendRaw, setPath, signedHeaders, unixSeconds } from './fixtures';

const NOW_S = unixSeconds(FIXED_NOW);
const LIMIT_BYTES = 100 * 1024;

describe('POST /webhooks/ticket-closed with bad input', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({}, manualClock(FIXED_NOW));
  });
  afterEach(async () => {
    await t.close();
  });

  async function expectInvalidPayload(body: unknown, path: string) {
    const res = await t.postWebhook(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_payload' });
    expect(res.body.details).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    await expectNothingStored(t);
    return res;
  }

  describe('required fields', () => {
    it.each(['ticket_id', 'customer', 'customer.email', 'agent', 'agent.id'])(
      'when %s is missing, then 400 invalid_payload names it and nothing is stored',
      async (path) => {
        await expectInvalidPayload(setPath(ticketPayload(), path, REMOVE), path);
      },
    );
  });

  describe('text that is not Unicode', () => {
    // A lone half of a UTF-16 surrogate pair is legal JSON syntax but no character (RFC 8259, section 8.2); both
    // databases store it as U+FFFD, so "S-\ud800" and "S-\udbff" were once stored as the same ticket and the
    // second close, or the first one's retry, failed with 500 on the unique key.
    it('when tickets whose ids differ only in an unpaired surrogate are closed, and one is sent again, then each answers 400 naming ticket_id and nothing is stored', async () => {
      for (const ticketId of ['S-\ud800', 'S-\udbff', 'S-\ud800', '\udfffS']) {
        const res = await t.postWebhook(ticketPayload({ ticket_id: ticketId }));
        expect([res.status, res.body.error, res.body.details]).toEqual([400, 'invalid_payload', [{ path: 'ticket_id', message: expect.stringMatching(/unpaired surrogate/) }]]);
      }
      await expectNothingStored(t);
    });

    it.each<[string, string, unknown]>([
      ['customer.name', 'customer', { email: 'ann@example.com', name: 'Ann \ud83d' }],
      ['agent.id', 'agent', { id: 'a-\udc00' }],
      ['agent.name', 'agent', { id: 'a-7', name: '\udbffAda' }],
      ['team', 'team', 'billing\ud800'],
      ['subject', 'subject', 'Refund \udfff'],
      ['tags.1', 'tags', ['vip', 'x\ud800']],
      ['brand', 'brand', '\ud800'],
      ['thread_message_id', 'thread_message_id', '<a\ud800@mail.example>'],
      ['extra', 'extra', 'any member the contract does not read'.concat('\ud800')],
      ['extra.k\ud800', 'extra', { ['k\ud800']: 1 }],
    ])('when %s carries an unpaired surrogate, then 400 invalid_payload names it and nothing is stored', async (path, field, value) => {
      const res = await t.postWebhook(ticketPayload({ [field]: value }));
      expect([res.status, res.body.error, res.body.details.map((d: { path: string }) => d.path)]).toEqual([400, 'invalid_payload', [path]]);
      await expectNothingStored(t);
    });

    it('when a body nests 20,000 arrays deep around an unpaired surrogate, then 400 invalid_payload, not a stack overflow', async () => {
      const res = await t.postWebhook(undefined, { rawBody: `${'['.repeat(20_000)}"\\ud800"${']'.repeat(20_000)}` });
      expect([res.status, res.body.error]).toEqual([400, 'invalid_payload']);
      await expectNothingStored(t);
    });

    it('when text carries surrogate pairs (emoji), then it is stored exactly and the same ticket again is a duplicate', async () => {
      const payload = ticketPayload({ ticket_id: 'S-😀', subject: 'Thanks 👍🏽', customer: { email: 'ann@example.com', name: '𝒜nn' } });
      const first = await t.postWebhook(payload);
      expect(first.status).toBe(202);
      expect(await t.db('surveys').where({ id: first.body.survey_id }).first('ticket_id', 'subject', 'customer_name')).toEqual({ ticket_id: 'S-😀', subject: 'Thanks 👍🏽', customer_name: '𝒜nn' });
      const again = await t.postWebhook(payload, { timestamp: Math.floor(FIXED_NOW.getTime() / 1000) + 1 });
      expect([again.status, again.body]).toEqual([200, { survey_id: first.body.survey_id, status: 'duplicate' }]);
    });
  });

  describe('wrong types and formats', () => {
    it.each<[string, string, unknown]>([
      ['ticket_id is a number', 'ticket_id', 42],
      ['ticket_id is empty', 'ticket_id', ''],
      ['ticket_id is only whitespace', 'ticket_id', '   '],
      ['ticket_id is longer than 128 characters', 'ticket_id', 'T'.repeat(129)],
      ['customer is a string', 'customer', 'ann@example.com'],
      ['customer.email is not an email', 'customer.email', 'not-an-email'],
      ['customer.email has no domain', 'customer.email', 'ann@'],
      ['customer.email is a number', 'customer.email', 12],
      ['agent is null', 'agent', null],
      ['agent.id is a number', 'agent.id', 7],
      ['agent.email is not an email', 'agent.email', 'ada at support'],
      ['tags is a string, not an array', 'tags', 'vip'],
      ['tags holds a number', 'tags.0', [1]],
      ['closed_at is not ISO-8601', 'closed_at', '20/11/2026 10:00'],
      ['closed_at is a date without time', 'closed_at', '2026-11-20'],
      ['closed_at is epoch seconds', 'closed_at', 1795168800],
      ['closed_at is in year 0', 'closed_at', '0000-01-01T00:00:00Z'],
      ['closed_at is before 2000 (UTC)', 'closed_at', '2000-01-01T00:30:00+01:00'],
      ['closed_at is after 2199', 'closed_at', '2200-01-01T00:00:00Z'],
      ['closed_at is in year 9999', 'closed_at', '9999-12-31T23:59:59Z'],
      ['closed_at has an offset no clock has', 'closed_at', '2026-11-20T10:00:00+99:99'],
      ['locale is not a language tag', 'locale', 'english please'],
      ['team is an object', 'team', { name: 'billing' }],
    ])('when %s, then 400 names %s and nothing is stored', async (_case, path, value) => {
      // For array items the value replaces the whole array; the path names the item.
      const field = path.replace(/\.\d+$/, '');
      await expectInvalidPayload(setPath(ticketPayload(), field, value), path);
    });

    it.each([
      ['a JSON array', []],
      ['JSON null', null],
      ['a JSON string', 'ticket closed'],
    ])('when the body is %s, then 400 invalid_payload names the body', async (_case, body) => {
      await expectInvalidPayload(body, '(body)');
    });
  });

  describe('header injection through one-line fields', () => {
    it.each<[string, string]>([
      ['customer.name', 'Ann\r\nBcc: victim@example.com'],
      ['customer.name', 'Ann\nX-Injected: 1'],
      ['agent.name', 'Ada\r\nBcc: victim@example.com'],
      ['subject', 'Refund\r\nBcc: victim@example.com'],
      ['subject', 'Refund\rContent-Type: text/html'],
      ['team', 'billing\nBcc: victim@example.com'],
      ['ticket_id', 'T-1\r\nX: y'],
      ['brand', 'Acme\u0000'],
    ])('when %s contains a line break or control character (%j), then 400 names the field', async (path, value) => {
      await expectInvalidPayload(setPath(ticketPayload(), path, value), path);
    });

    it('when a tag contains a line break, then 400 names the tag item', async () => {
      await expectInvalidPayload(ticketPayload({ tags: ['ok', 'bad\r\nBcc: x@example.com'] }), 'tags.1');
    });

    it.each(['customer.email', 'agent.email'])('when %s carries an extra header after CR/LF, then 400 names it', async (path) => {
      await expectInvalidPayload(setPath(ticketPayload(), path, 'ann@example.com\r\nBcc: victim@example.com'), path);
    });
  });

  describe('thread_message_id', () => {
    it.each([
      ['without angle brackets', 'abc@mail.example'],
      ['without an @', '<abc>'],
      ['with whitespace inside', '<a b@mail.example>'],
      ['with a header after CR/LF', '<abc@mail.example>\r\nBcc: victim@example.com'],
      ['with two ids', '<a@x.example> <b@y.example>'],
      ['longer than 998 characters', `<${'a'.repeat(990)}@mail.example>`],
      ['a number', 12345],
    ])('when it is %s, then 400 names thread_message_id and nothing is stored', async (_case, value) => {
      await expectInvalidPayload(ticketPayload({ thread_message_id: value }), 'thread_message_id');
    });
  });

  describe('body size, JSON and content type', () => {
    /** A valid payload padded with an ignored field to exactly `bytes` bytes. */
    const paddedTo = (bytes: number) => {
      const base = JSON.stringify({ ...ticketPayload(), padding: '' });
      return base.replace('"padding":""', `"padding":"${'x'.repeat(bytes - Buffer.byteLength(base))}"`);
    };

    it('when the signed body is larger than 100 kB, then 413 and nothing is stored', async () => {
      const raw = paddedTo(LIMIT_BYTES + 1);
      const res = await sendRaw(t, raw, signedHeaders(raw, NOW_S));
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ error: 'payload_too_large' });
      await expectNothingStored(t);
    });

    it('when the signed body is exactly 100 kB, then it is accepted', async () => {
      const raw = paddedTo(LIMIT_BYTES);
      expect(Buffer.byteLength(raw)).toBe(LIMIT_BYTES);
      const res = await sendRaw(t, raw, signedHeaders(raw, NOW_S));
      expect(res.status).toBe(202);
    });

    it.each([
      ['plain text', 'ticket closed'],
      ['truncated JSON', '{"ticket_id": "T-1", "customer": {'],
      ['JSON with a trailing comma', '{"ticket_id": "T-1",}'],
      ['single-quoted pseudo JSON', "{'ticket_id': 'T-1'}"],
      ['JSON behind a byte-order mark', '\uFEFF' + JSON.stringify({ ticket_id: 'T-1' })],
    ])('when the signed body is %s, then 400 invalid_json and nothing is stored', async (_case, raw) => {
      const res = await sendRaw(t, raw, signedHeaders(raw, NOW_S));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_json' });
      await expectNothingStored(t);
    });

    it('when the signed body is empty, then 400 invalid_json and nothing is stored', async () => {
      const res = await request(t.app)
        .post('/webhooks/ticket-closed')
        .set(signedHeaders('', NOW_S))
        .set('Content-Length', '0');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_json' });
      await expectNothingStored(t);
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x'])(
      'when Content-Type is %s, then 415 and nothing is stored',
      async (type) => {
        const raw = JSON.stringify(ticketPayload());
        const res = await sendRaw(t, raw, { ...signedHeaders(raw, NOW_S), 'Content-Type': type });
        expect(res.status).toBe(415);
        expect(res.body).toMatchObject({ error: 'unsupported_media_type' });
        await expectNothingStored(t);
      },
    );

    it.each<[string, string, number, string]>([
      ['gzip that is not gzip', 'gzip', 400, 'bad_request'],
      ['deflate that is not deflate', 'deflate', 400, 'bad_request'],
      ['an encoding nobody speaks', 'compress', 415, 'encoding_unsupported'],
    ])('when the body is %s, then %s answers %d %s and nothing is stored', async (_case, encoding, status, error) => {
      const raw = JSON.stringify(ticketPayload());
      const res = await request(t.app)
        .post('/webhooks/ticket-closed')
        .set({ ...signedHeaders(raw, NOW_S), 'Content-Encoding': encoding })
        .send(raw);
      expect([res.status, res.body]).toEqual([status, { error }]);
      await expectNothingStored(t);
    });

    it('when closed_at is at either end of the calendar, then it is accepted', async () => {
      for (const closedAt of ['2000-01-01T00:00:00Z', '2199-12-31T23:59:59.999Z']) expect((await t.postWebhook(ticketPayload({ closed_at: closedAt }))).status).toBe(202);
    });

    it.each(['application/json; charset=utf-8', 'Application/JSON'])('when Content-Type is %s, then it is accepted', async (type) => {
      const raw = JSON.stringify(ticketPayload());
      const res = await sendRaw(t, raw, { ...signedHeaders(raw, NOW_S), 'Content-Type': type });
      expect(res.status).toBe(202);
    });
  });
});
