import crypto from 'node:crypto';
import { bootApp, manualClock, TEST_SECRET, ticketPayload, type TestApp } from '../helpers/boot';
import { MAX_SKEW_SECONDS, safeEqual, signBody, verifySignature } from '../../src/shared/signature';
import { expectNothingStored, FIXED_NOW, sendRaw, signedHeaders, unixSeconds } from './fixtures';

const NOW_S = unixSeconds(FIXED_NOW);

describe('signBody and verifySignature', () => {
  const body = Buffer.from('{"ticket_id":"T-1"}');
  const verify = (over: Partial<Parameters<typeof verifySignature>[0]> = {}) =>
    verifySignature({
      secret: TEST_SECRET,
      timestamp: String(NOW_S),
      signature: signBody(TEST_SECRET, String(NOW_S), body),
      rawBody: body,
      now: FIXED_NOW,
      ...over,
    });

  it('when a body is signed, then the header is sha256= and the hex HMAC of "timestamp.body"', () => {
    const expected = crypto.createHmac('sha256', TEST_SECRET).update(`${NOW_S}.{"ticket_id":"T-1"}`).digest('hex');
    expect(signBody(TEST_SECRET, String(NOW_S), body)).toBe(`sha256=${expected}`);
    expect(signBody(TEST_SECRET, String(NOW_S), body.toString())).toBe(`sha256=${expected}`);
  });

  it('when secret, timestamp and body match and the clock agrees, then the signature is valid', () => {
    expect(verify()).toBe(true);
  });

  it.each([
    ['the secret differs', { signature: signBody('another-secret-0123456789', String(NOW_S), body) }],
    ['the body was altered', { rawBody: Buffer.from('{"ticket_id":"T-2"}') }],
    ['the timestamp was altered', { timestamp: String(NOW_S + 1) }],
    ['the timestamp is missing', { timestamp: undefined }],
    ['the signature is missing', { signature: undefined }],
    ['the timestamp is not digits', { timestamp: `${NOW_S}.5` }],
    ['the timestamp is in milliseconds', { timestamp: String(FIXED_NOW.getTime()) }],
    ['the signature lacks the sha256= prefix', { signature: signBody(TEST_SECRET, String(NOW_S), body).slice('sha256='.length) }],
    ['the signature is upper-case hex', { signature: 'sha256=' + signBody(TEST_SECRET, String(NOW_S), body).slice(7).toUpperCase() }],
    ['the signature is truncated', { signature: signBody(TEST_SECRET, String(NOW_S), body).slice(0, -2) }],
  ])('when %s, then the signature is invalid', (_case, over) => {
    expect(verify(over)).toBe(false);
  });

  it.each([
    ['exactly the allowed skew in the past', -MAX_SKEW_SECONDS, true],
    ['exactly the allowed skew in the future', MAX_SKEW_SECONDS, true],
    ['one second more than the skew in the past', -MAX_SKEW_SECONDS - 1, false],
    ['one second more than the skew in the future', MAX_SKEW_SECONDS + 1, false],
  ])('when the timestamp is %s (%i s), then verifySignature returns %s', (_case, offset, valid) => {
    const ts = String(NOW_S + offset);
    expect(verify({ timestamp: ts, signature: signBody(TEST_SECRET, ts, body) })).toBe(valid);
  });

  it('when strings differ in length or content, then safeEqual is false without throwing', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('POST /webhooks/ticket-closed signature checks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({}, manualClock(FIXED_NOW));
  });
  afterEach(async () => {
    await t.close();
  });

  it('when the request is signed correctly, then it is accepted (control case)', async () => {
    const res = await t.postWebhook(ticketPayload());
    expect(res.status).toBe(202);
  });

  it('when the timestamp is four minutes old, then it is still accepted', async () => {
    const res = await t.postWebhook(ticketPayload(), { timestamp: NOW_S - 240 });
    expect(res.status).toBe(202);
  });

  const WRONG_SECRET = 'wrong-secret-0123456789';
  const withHeader = (body: string, name: string, value: string | undefined) => ({ ...signedHeaders(body, NOW_S), [name]: value });

  it.each<[string, (body: string) => Record<string, string | undefined>]>([
    ['signed with the wrong secret', (body) => signedHeaders(body, NOW_S, WRONG_SECRET)],
    ['the timestamp is more than 5 minutes in the past', (body) => signedHeaders(body, NOW_S - 301)],
    ['the timestamp is more than 5 minutes in the future', (body) => signedHeaders(body, NOW_S + 301)],
    ['the timestamp is an hour old', (body) => signedHeaders(body, NOW_S - 3600)],
    ['the timestamp header is missing', (body) => withHeader(body, 'X-Closeloop-Timestamp', undefined)],
    ['the signature header is missing', (body) => withHeader(body, 'X-Closeloop-Signature', undefined)],
    ['both headers are missing', () => ({ 'Content-Type': 'application/json' })],
    ['the signature header is empty', (body) => withHeader(body, 'X-Closeloop-Signature', '')],
    ['the signature header is not hex', (body) => withHeader(body, 'X-Closeloop-Signature', 'sha256=not-hex-at-all')],
    ['the signature header has no sha256= prefix', (body) => withHeader(body, 'X-Closeloop-Signature', signedHeaders(body, NOW_S)['X-Closeloop-Signature'].slice(7))],
    ['the signature header uses another algorithm', (body) => withHeader(body, 'X-Closeloop-Signature', 'sha1=' + 'a'.repeat(40))],
    ['the timestamp header is not a number', (body) => withHeader(body, 'X-Closeloop-Timestamp', 'yesterday')],
  ])('when %s, then 401 invalid_signature and nothing is stored', async (_case, headers) => {
    const body = JSON.stringify(ticketPayload());
    const res = await sendRaw(t, body, headers(body));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_signature' });
    await expectNothingStored(t);
  });

  it('when the body is altered after signing, then 401 and nothing is stored', async () => {
    const original = ticketPayload();
    const headers = signedHeaders(JSON.stringify(original), NOW_S);
    const altered = JSON.stringify({ ...original, customer: { email: 'mallory@example.com' } });
    const res = await sendRaw(t, altered, headers);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_signature' });
    await expectNothingStored(t);
  });

  it('when the body differs from the signed one only by whitespace, then 401 (the raw bytes are signed, not the JSON)', async () => {
    const signed = JSON.stringify(ticketPayload());
    const res = await sendRaw(t, signed + '\n', signedHeaders(signed, NOW_S));
    expect(res.status).toBe(401);
    await expectNothingStored(t);
  });

  it('when the timestamp header is changed after signing, then 401 and nothing is stored', async () => {
    const body = JSON.stringify(ticketPayload());
    const res = await sendRaw(t, body, { ...signedHeaders(body, NOW_S), 'X-Closeloop-Timestamp': String(NOW_S - 1) });
    expect(res.status).toBe(401);
    await expectNothingStored(t);
  });

  it('when an unsigned request carries an invalid payload, then 401 comes before any validation detail', async () => {
    const res = await sendRaw(t, JSON.stringify({ nope: true }), { 'Content-Type': 'application/json' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_signature' });
  });
});
