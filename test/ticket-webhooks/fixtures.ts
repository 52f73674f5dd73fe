import request from 'supertest';
import { TEST_SECRET, type TestApp } from '../helpers/boot';
import { signBody } from '../../src/shared/signature';

/** A fixed instant for tests that reason about timestamps. */
export const FIXED_NOW = new Date('2026-11-20T12:00:00Z');
export const unixSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** A webhook request with hand-made headers, for cases postWebhook cannot express. Undefined headers are left out. */
export function sendRaw(t: TestApp, raw: string, headers: Record<string, string | undefined>) {
  let req = request(t.app).post('/webhooks/ticket-closed');
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) req = req.set(name, value);
  return req.send(raw);
}

/** Correct signature headers for `raw` at `timestamp`. */
export function signedHeaders(raw: string, timestamp: number, secret = TEST_SECRET) {
  const ts = String(timestamp);
  return { 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(secret, ts, raw) };
}

export async function expectNothingStored(t: TestApp) {
  expect(await t.count('surveys')).toBe(0);
  expect(await t.count('outbox')).toBe(0);
}

type Json = Record<string, unknown>;

/** A copy of `obj` with the value at a dotted path replaced, or removed when `value` is `REMOVE`. */
export const REMOVE = Symbol('remove');
export function setPath(obj: Json, dotted: string, value: unknown): Json {
  const copy: Json = structuredClone(obj);
  const keys = dotted.split('.');
  const last = keys.pop() as string;
  let node = copy;
  for (const k of keys) node = node[k] as Json;
  if (value === REMOVE) delete node[last];
  else node[last] = value;
  return copy;
}
