import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fc from 'fast-check';
import request from 'supertest';
import { bootApp, manualClock, TEST_SECRET, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';
import { signBody } from '../../src/shared/signature';
import { anyJson, CONTROL_CHARS, hostileText, inputLog, nested, PROPERTY_TIMEOUT_MS, rowCounts, stored, wellFormed } from './arbitraries';

/**
 * Property-based layer over POST /webhooks/ticket-closed: whatever arrives, the answer is a
 * documented 4xx or a documented success, never a 5xx, and a rejected request writes no row
 * anywhere. test/webhooks/bad-input.test.ts pins the individual cases; this file throws
 * generated inputs at the same contract.
 */

const NOW = new Date('2026-11-20T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const LIMIT_BYTES = 100 * 1024;
const EXCLUDED_TAGS = ['no-survey', 'no_csat', 'spam'];

const log = inputLog('webhook.test.ts');

let seq = 0;
/** A valid payload whose ticket and customer are new, so only the input under test decides the answer. */
function basePayload(): Record<string, unknown> {
  seq += 1;
  return {
    ticket_id: `T-in-${seq}`,
    closed_at: '2026-11-20T10:00:00Z',
    customer: { email: `c${seq}@example.com`, name: 'Ann' },
    agent: { id: 'a-7', name: 'Ada Lovelace', email: 'ada@support.example' },
    team: 'billing',
    subject: 'Refund for order 42',
  };
}

function send(t: TestApp, raw: Buffer | string, headers: Record<string, string | undefined> = {}) {
  const body = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  const ts = String(NOW_S);
  const all: Record<string, string | undefined> = {
    'Content-Type': 'application/json',
    'X-Closeloop-Timestamp': ts,
    'X-Closeloop-Signature': signBody(TEST_SECRET, ts, body),
    ...headers,
  };
  // superagent would JSON-serialise a Buffer sent as application/json: send the bytes as they are.
  let req = request(t.app).post('/webhooks/ticket-closed').serialize((bytes) => bytes);
  for (const [name, value] of Object.entries(all)) if (value !== undefined) req = req.set(name, value);
  return req.send(body);
}

const ERROR_STATUSES = [400, 401, 413, 415];

describe('POST /webhooks/ticket-closed under generated input (property-based)', () => {
  let t: TestApp;
  let tables: string[];
  const seenTickets = new Set<string>();
  /** The successful answers by request (timestamp and bytes): the same signed request again is a replay. */
  const answered = new Map<string, { status: number; body: unknown }>();

  beforeAll(async () => {
    t = await bootApp({}, manualClock(NOW));
    tables = (await tableNames(t.db)).filter((name) => !name.startsWith('knex_'));
  });
  afterAll(async () => {
    await t.close();
    log.print();
  });

  /**
   * Sends `raw` and checks what every answer must satisfy. Returns the answer so a property can
   * check more: 4xx → nothing stored anywhere; 202 → one survey and one outbox row; 200 →
   * duplicate (nothing new) or suppressed (a survey, no outbox row); a request answered 2xx
   * before → the same answer again, nothing stored.
   */
  async function post(raw: Buffer | string, headers: Record<string, string | undefined> = {}) {
    const before = await rowCounts(t, tables);
    const res = await send(t, raw, headers);
    log.answer(res.status);
    const after = await rowCounts(t, tables);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const sent = `${headers['X-Closeloop-Timestamp'] ?? NOW_S} ${Buffer.from(raw).toString('base64')}`;
    const earlier = answered.get(sent);
    if (earlier && !headers['X-Closeloop-Signature']) {
      expect({ status: res.status, body: res.body }).toEqual(earlier);
      expect(after).toEqual(before);
      return res;
    }
    if (res.status < 300 && !headers['X-Closeloop-Signature']) answered.set(sent, { status: res.status, body: res.body });
    if (res.status >= 400) {
      expect(ERROR_STATUSES).toContain(res.status);
      expect(after).toEqual(before);
    } else if (res.status === 202) {
      expect(res.body).toEqual({ survey_id: expect.any(String), status: 'scheduled' });
      expect([after.surveys - before.surveys, after.outbox - before.outbox]).toEqual([1, 1]);
    } else {
      expect(res.status).toBe(200);
      expect(['duplicate', 'suppressed']).toContain(res.body.status);
      const expected = res.body.status === 'duplicate' ? [0, 0] : [1, 0];
      expect([after.surveys - before.surveys, after.outbox - before.outbox]).toEqual(expected);
    }
    // A body that cannot be inflated is refused by the body reader before the contract is read
    // (400 bad_request, a code the README does not list); every other 400 is one of the contract's.
    if (res.status === 400 && !(headers['Content-Encoding'] && res.body.error === 'bad_request')) {
      expect(['invalid_json', 'invalid_payload']).toContain(res.body.error);
      if (res.body.error === 'invalid_payload') {
        expect(res.body.details).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
        expect(res.body.details.length).toBeGreaterThan(0);
      }
    }
    if (res.status === 202 || res.status === 200) seenTickets.add(String((await t.db('surveys').where({ id: res.body.survey_id }).first()).ticket_id));
    return res;
  }

  it(
    'when the signed body is any JSON value, then it answers 400 invalid_payload or a documented success, and a rejected body stores nothing',
    async () => {
      /** Mostly the contract's own shape, each part valid or not, so both answers are common. */
      const either = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: anyJson });
      const nearContract = fc.record(
        {
          ticket_id: either(hostileText()),
          customer: either(fc.record({ email: either(fc.oneof(fc.emailAddress(), fc.constantFrom('ann@example.com', 'o\'hara+x@example.co.uk', 'ANN@Example.COM'))), name: either(hostileText()) }, { requiredKeys: ['email'] })),
          agent: either(fc.record({ id: either(hostileText()), name: either(fc.constant(null)), email: either(fc.constant(null)) }, { requiredKeys: ['id'] })),
          team: either(fc.constant(null)),
          subject: either(hostileText()),
          tags: either(fc.constant([])),
          closed_at: either(fc.constant(null)),
          locale: either(fc.constant('en')),
          brand: either(fc.constant(null)),
          thread_message_id: either(fc.constant(null)),
        },
        { requiredKeys: ['ticket_id', 'customer', 'agent'] },
      );
      await log.check(
        'any JSON value as the body',
        fc.oneof({ weight: 1, arbitrary: anyJson }, { weight: 2, arbitrary: nearContract }),
        async (body) => {
          const raw = JSON.stringify(body);
          const res = await post(raw);
          expect(res.status).not.toBe(413);
          if (res.status === 400) expect(res.body.error).toBe('invalid_payload');
        },
        150,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when the signed body is arbitrary bytes or a corrupted valid payload, then invalid_json is answered exactly when the bytes are not JSON, and nothing is stored',
    async () => {
      const edits = fc.array(
        fc.record({
          at: fc.nat(),
          cut: fc.nat({ max: 6 }),
          insert: fc.oneof(
            fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', '\\u', '\\ud800', 'null', '1e999', '-', ' ', '\u0000', '\ud800', '\uFEFF', '"__proto__":{}'),
            fc.string({ unit: 'binary', maxLength: 4 }),
          ),
        }),
        { minLength: 1, maxLength: 4 },
      );
      const corrupted = edits.map((list) => {
        let text = JSON.stringify(basePayload());
        for (const e of list) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
        }
        return Buffer.from(text, 'utf8');
      });
      const byteFlips = fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }).map((flips) => {
        const buf = Buffer.from(JSON.stringify(basePayload()), 'utf8');
        for (const f of flips) buf[f.at % buf.length] = f.byte;
        return buf;
      });
      const bytes = fc.oneof(
        { weight: 3, arbitrary: corrupted },
        { weight: 2, arbitrary: byteFlips },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')) },
      );
      await log.check(
        'arbitrary bytes and corrupted payloads',
        bytes,
        async (raw) => {
          const res = await post(raw);
          let parses = true;
          try {
            JSON.parse(raw.toString('utf8'));
          } catch {
            parses = false;
          }
          if (!parses) {
            expect(res.status).toBe(400);
            expect(res.body).toMatchObject({ error: 'invalid_json' });
          } else {
            expect(res.body.error).not.toBe('invalid_json');
          }
        },
        150,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  describe('one field replaced, with the contract as the oracle', () => {
    type Field = { path: string; max: number; required: boolean };
    const LINE_FIELDS: Field[] = [
      { path: 'ticket_id', max: 128, required: true },
      { path: 'customer.name', max: 200, required: false },
      { path: 'agent.id', max: 128, required: true },
      { path: 'agent.name', max: 200, required: false },
      { path: 'team', max: 128, required: false },
      { path: 'subject', max: 500, required: false },
      { path: 'brand', max: 128, required: false },
    ];
    const COLUMN: Record<string, string> = {
      ticket_id: 'ticket_id',
      'customer.name': 'customer_name',
      'agent.id': 'agent_id',
      'agent.name': 'agent_name',
      team: 'team',
      subject: 'subject',
      brand: 'brand',
      thread_message_id: 'thread_message_id',
      locale: 'locale',
    };
    const ABSENT = Symbol('absent');

    /** Hostile text of about `length` characters: what sits near a field's limit. */
    const nearLength = (max: number) =>
      fc.tuple(fc.constantFrom(-2, -1, 0, 1, 2), hostileText({ sets: ['markup', 'sql', 'unicode', 'header'], maxPieces: 3 }), fc.constantFrom('', ' ', '\u00a0', '\t'))
        .map(([delta, text, pad]) => {
          const body = (text.replace(/\s/g, 'x') || 'x').repeat(Math.ceil((max + 2) / Math.max(1, text.length)));
          return pad + wellFormed(body.slice(0, Math.max(0, max + delta))) + pad;
        });

    const value = (max: number) =>
      fc.oneof(
        { weight: 4, arbitrary: hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode', 'control', 'lone'] }) },
        { weight: 3, arbitrary: nearLength(max) },
        { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u00a0', '\u3000', '\ufeff', '\u200b', '\u0085', '\u2028') },
        { weight: 2, arbitrary: anyJson },
        { weight: 1, arbitrary: fc.constant<typeof ABSENT>(ABSENT) },
      );

    const set = (payload: Record<string, unknown>, path: string, v: unknown) => {
      const keys = path.split('.');
      const last = keys.pop() as string;
      let node = payload;
      for (const k of keys) node = node[k] as Record<string, unknown>;
      if (v === ABSENT) delete node[last];
      else node[last] = v;
      return payload;
    };

    /** The README's one-line rule: a string that trims to 1..max characters with no control characters and no unpaired surrogate. */
    const lineOk = (v: unknown, f: Field) => {
      if (v === ABSENT || v === null) return !f.required;
      if (typeof v !== 'string') return false;
      const s = v.trim();
      return s.length >= 1 && [...s].length <= f.max && !CONTROL_CHARS.test(s) && wellFormed(s) === s;
    };

    async function expectFollowsContract(payload: Record<string, unknown>, path: string, v: unknown, ok: boolean, storedValue: unknown) {
      const ticket = path === 'ticket_id' && typeof v === 'string' ? stored(v) : (payload.ticket_id as string);
      const seenBefore = seenTickets.has(ticket);
      const res = await post(JSON.stringify(payload));
      if (!ok) {
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('invalid_payload');
        const paths = res.body.details.map((d: { path: string }) => d.path);
        expect(paths.every((p: string) => p === path || p.startsWith(`${path}.`))).toBe(true);
        return;
      }
      const tags = (payload.tags as string[] | undefined) ?? [];
      if (seenBefore) {
        expect(res.body.status).toBe('duplicate');
        return;
      }
      if (tags.some((tag) => EXCLUDED_TAGS.includes(tag.trim().toLowerCase()))) {
        expect([res.status, res.body.status, res.body.reason]).toEqual([200, 'suppressed', 'excluded_tag']);
      } else {
        expect(res.status).toBe(202);
      }
      const row = await t.db('surveys').where({ id: res.body.survey_id }).first();
      if (path === 'tags') expect(JSON.parse(row.tags)).toEqual(storedValue);
      else expect(row[COLUMN[path]]).toEqual(storedValue);
    }

    it(
      'when a one-line field (ids, names, team, subject, brand) gets any value, then it is stored trimmed exactly when the contract allows it, else 400 names that field',
      async () => {
        await log.check(
          'one-line fields, one at a time',
          fc.constantFrom(...LINE_FIELDS).chain((f) => fc.tuple(fc.constant(f), value(f.max))),
          async ([f, v]) => {
            const ok = lineOk(v, f);
            const storedValue = v === ABSENT || v === null ? null : typeof v === 'string' ? stored(v) : undefined;
            await expectFollowsContract(set(basePayload(), f.path, v), f.path, v, ok, storedValue);
          },
          250,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when tags get any list, then they are stored trimmed exactly when every tag is a valid line of at most 100 characters (at most 100 tags), else 400 names tags',
      async () => {
        const tag = fc.oneof(hostileText({ sets: ['markup', 'header', 'sql', 'unicode', 'control'], maxPieces: 3 }), fc.constantFrom('vip', 'SPAM', ' no-survey ', ''), anyJson);
        const tags = fc.oneof(
          { weight: 5, arbitrary: fc.array(tag, { maxLength: 5 }) },
          { weight: 1, arbitrary: fc.integer({ min: 99, max: 101 }).map((n) => Array.from({ length: n }, (_, i) => `t${i}`)) },
          { weight: 1, arbitrary: anyJson },
        );
        await log.check(
          'tags',
          tags,
          async (v) => {
            const field = { path: 'tags.x', max: 100, required: true };
            const ok = v === null || (Array.isArray(v) && v.length <= 100 && v.every((item) => lineOk(item, field)));
            const storedValue = Array.isArray(v) ? v.map((s) => stored(String(s))) : [];
            await expectFollowsContract(set(basePayload(), 'tags', v), 'tags', v, ok, storedValue);
          },
          150,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when thread_message_id or locale gets any value, then it is accepted exactly when it matches its documented shape',
      async () => {
        const inner = hostileText({ sets: ['markup', 'header', 'sql', 'unicode', 'control', 'lone'], maxPieces: 3 });
        const threadId = fc.oneof(
          fc.tuple(inner, inner).map(([a, b]) => `<${a}@${b}>`),
          // One odd character in an otherwise plain id: control characters are not whitespace to \s.
          fc.constantFrom('\u0000', '\u0001', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', 'é', '"', ',', '(').map((c) => `<a${c}b@mail.example>`),
          fc.tuple(fc.stringMatching(/^[A-Za-z0-9.$%+-]{1,20}$/), fc.domain()).map(([a, b]) => `<${a}@${b}>`),
          fc.integer({ min: 985, max: 1000 }).map((n) => `<${'a'.repeat(n - 16)}@mail.example>`),
          inner,
          anyJson,
        );
        const locale = fc.oneof(fc.stringMatching(/^[A-Za-z]{1,4}(-[A-Za-z0-9]{0,9}){0,3}$/), inner, fc.constantFrom('en', 'de-AT', 'pt-BR', 'zz', 'EN', 'en_US', 'en-', 'x-klingon', 'de-AT-1996'), anyJson);
        const input = fc.oneof(fc.tuple(fc.constant('thread_message_id'), threadId), fc.tuple(fc.constant('locale'), locale));
        await log.check(
          'thread_message_id and locale',
          input,
          async ([path, v]) => {
            const shape = path === 'locale' ? /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/ : /^<[^<>\s\u0000-\u001f\u007f]+@[^<>\s\u0000-\u001f\u007f]+>$/;
            const ok = v === null || (typeof v === 'string' && (path === 'locale' || v.length <= 998) && shape.test(v) && wellFormed(v) === v);
            const storedValue = typeof v === 'string' ? v : null;
            await expectFollowsContract(set(basePayload(), path, v), path, v, ok, storedValue);
          },
          150,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });

  it(
    'when a valid payload is mutated at several places at once, then a 400 names only mutated fields, 413 comes exactly above 100 kB, and accepted strings are stored trimmed',
    async () => {
      const PATHS = ['ticket_id', 'closed_at', 'customer', 'customer.email', 'customer.name', 'agent', 'agent.id', 'agent.name', 'agent.email', 'team', 'subject', 'tags', 'locale', 'brand', 'thread_message_id', 'extra'];
      const mutationValue = fc.oneof(
        { weight: 3, arbitrary: hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode', 'control', 'lone'] }) },
        { weight: 2, arbitrary: anyJson },
        { weight: 1, arbitrary: fc.emailAddress() },
        { weight: 1, arbitrary: fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) },
        { weight: 1, arbitrary: fc.constantFrom('2026-11-20T10:00:00+02:00', '2026-11-20', '2026-02-30T10:00:00Z', '2026-11-20T25:00:00Z', '1e3', 'now', '') },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 120_000 }).map((n) => 'x'.repeat(n)) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((d) => JSON.parse(nested(d, 'array')) as unknown) },
        { weight: 1, arbitrary: fc.constant('__delete__') },
      );
      const mutations = fc.uniqueArray(fc.record({ path: fc.constantFrom(...PATHS), value: mutationValue }), { minLength: 1, maxLength: 4, selector: (m) => m.path });
      await log.check(
        'multi-field mutations of a valid payload',
        mutations,
        async (list) => {
          const payload = basePayload();
          const applied: string[] = [];
          for (const m of list) {
            const keys = m.path.split('.');
            const parent = keys.length === 1 ? payload : (payload[keys[0]] as Record<string, unknown> | undefined);
            if (!parent || typeof parent !== 'object' || Array.isArray(parent)) continue; // its parent was mutated away
            if (m.value === '__delete__') delete parent[keys[keys.length - 1]];
            else parent[keys[keys.length - 1]] = m.value;
            applied.push(m.path);
          }
          const raw = JSON.stringify(payload);
          const res = await post(raw);
          if (Buffer.byteLength(raw) > LIMIT_BYTES) {
            expect(res.status).toBe(413);
            expect(res.body).toEqual({ error: 'payload_too_large' });
            return;
          }
          expect([200, 202, 400]).toContain(res.status);
          if (res.status === 400) {
            expect(res.body.error).toBe('invalid_payload');
            for (const { path } of res.body.details as Array<{ path: string }>) {
              expect(applied.some((m) => path === m || path.startsWith(`${m}.`) || m.startsWith(`${path}.`))).toBe(true);
            }
            return;
          }
          const row = await t.db('surveys').where({ id: res.body.survey_id }).first();
          if (res.body.status === 'duplicate') return;
          const customer = payload.customer as Record<string, unknown>;
          const agent = payload.agent as Record<string, unknown>;
          const expectString = (v: unknown, column: string) => {
            if (typeof v === 'string') expect(row[column]).toBe(stored(v));
          };
          expectString(payload.ticket_id, 'ticket_id');
          expectString(customer.name, 'customer_name');
          expectString(agent.id, 'agent_id');
          expectString(agent.name, 'agent_name');
          expectString(payload.team, 'team');
          expectString(payload.subject, 'subject');
          expectString(payload.brand, 'brand');
        },
        200,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when the body is deeply nested or huge, then it answers 400, 413 or 202 as documented and never fails on its depth or size',
    async () => {
      const shape = fc.record({
        depth: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1_000, max: 60_000 })),
        kind: fc.constantFrom<'array' | 'object'>('array', 'object'),
        where: fc.constantFrom('root', 'extra', 'customer', 'tags', 'subject', 'agent.name'),
      });
      const huge = fc.record({
        size: fc.oneof(fc.integer({ min: 99 * 1024, max: 101 * 1024 }), fc.integer({ min: 101 * 1024, max: 2 * 1024 * 1024 })),
        where: fc.constantFrom('extra', 'subject', 'customer.name', 'ticket_id'),
        unit: fc.constantFrom('x', 'é', '😀', '<', '\\n', ' '),
      });
      await log.check(
        'deep nesting and huge bodies',
        fc.oneof(shape.map((s) => ({ nest: s })), huge.map((h) => ({ huge: h }))),
        async (input) => {
          let raw: string;
          if ('nest' in input) {
            const { depth, kind, where } = input.nest;
            const value = nested(depth, kind);
            if (where === 'root') raw = value;
            else if (where === 'agent.name') raw = JSON.stringify(basePayload()).replace('"Ada Lovelace"', value);
            else raw = JSON.stringify({ ...basePayload(), [where]: '__V__' }).replace('"__V__"', value);
          } else {
            const { size, where, unit } = input.huge;
            const template = JSON.stringify(where === 'customer.name' ? { ...basePayload(), customer: { email: `c${seq}@example.com`, name: '__V__' } } : { ...basePayload(), [where]: '__V__' });
            const fill = unit.repeat(Math.ceil(size / Buffer.byteLength(unit)));
            raw = template.replace('__V__', fill);
          }
          const res = await post(raw);
          if (Buffer.byteLength(raw) > LIMIT_BYTES) expect(res.status).toBe(413);
          else expect([202, 400]).toContain(res.status);
        },
        40,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when the media type, timestamp, signature or encoding is anything but right, then it is never accepted and nothing is stored',
    async () => {
      /** Mostly right, so that inputs wrong in exactly one way (and wholly right ones) are common. */
      const mostly = <T>(right: T, wrong: fc.Arbitrary<T>) => fc.oneof({ weight: 2, arbitrary: fc.constant(right) }, { weight: 1, arbitrary: wrong });
      const contentType = mostly<[string | undefined, boolean]>(
        ['application/json', true],
        fc.constantFrom<[string | undefined, boolean]>(
          ['application/json; charset=utf-8', true],
          ['Application/JSON', true],
          ['application/json;charset=latin1', true],
          [undefined, false],
          ['text/plain', false],
          ['application/x-www-form-urlencoded', false],
          ['application/jsonx', false],
          ['json', false],
          ['application/vnd.api+json', false],
          ['multipart/form-data; boundary=x', false],
          ['*/*', false],
          ['application/', false],
        ),
      );
      const timestamp = mostly(
        { value: String(NOW_S), fresh: true },
        fc.oneof(
          fc.integer({ min: -400, max: 400 }).map((skew) => ({ value: String(NOW_S + skew), fresh: Math.abs(skew) <= 300 })),
          fc.constantFrom('', ' ', '0', '-1', `${NOW_S}.5`, `${NOW_S}e0`, `+${NOW_S}`, ` ${NOW_S}`, `0${NOW_S}`, `${NOW_S}000`, '9'.repeat(13), 'abc').map((value) => ({ value: value, fresh: value === `0${NOW_S}` })),
          fc.constant({ value: undefined as string | undefined, fresh: false }),
        ),
      );
      const signature = mostly('right', fc.constantFrom('upper-hex', 'no-prefix', 'other-body', 'other-secret', 'one-char', 'truncated', 'empty', 'absent', 'doubled', 'sha1-prefix'));
      const encoding = mostly<[string | undefined, 'none' | 'gzip' | 'garbage']>(
        [undefined, 'none'],
        fc.constantFrom<[string | undefined, 'none' | 'gzip' | 'garbage']>(['identity', 'none'], ['gzip', 'gzip'], ['gzip', 'garbage'], ['deflate', 'garbage'], ['br', 'garbage'], ['x-unknown', 'none'], ['gzip, gzip', 'garbage']),
      );
      await log.check(
        'headers: media type, timestamp, signature, encoding',
        fc.record({ contentType, timestamp, signature, encoding }),
        async ({ contentType: [type, isJson], timestamp: ts, signature: sig, encoding: [enc, bodyKind] }) => {
          const json = Buffer.from(JSON.stringify(basePayload()));
          const wire = bodyKind === 'gzip' ? zlib.gzipSync(json) : bodyKind === 'garbage' ? Buffer.from('not compressed at all') : json;
          const signed = bodyKind === 'gzip' ? json : wire; // the service signs what it reads: the inflated body
          const right = signBody(TEST_SECRET, ts.value ?? '', signed);
          const forged: Record<string, string | undefined> = {
            right,
            'upper-hex': `sha256=${right.slice(7).toUpperCase()}`,
            'no-prefix': right.slice(7),
            'other-body': signBody(TEST_SECRET, ts.value ?? '', Buffer.concat([signed, Buffer.from(' ')])),
            'other-secret': signBody(`${TEST_SECRET}x`, ts.value ?? '', signed),
            'one-char': right.slice(0, -1) + (right.endsWith('0') ? '1' : '0'),
            truncated: right.slice(0, 40),
            empty: '',
            absent: undefined,
            doubled: `${right},${right}`,
            'sha1-prefix': `sha1=${crypto.createHmac('sha1', TEST_SECRET).update(`${ts.value}.`).update(signed).digest('hex')}`,
          };
          const res = await post(wire, {
            'Content-Type': type,
            'X-Closeloop-Timestamp': ts.value,
            'X-Closeloop-Signature': forged[sig],
            'Content-Encoding': enc,
          });
          const acceptable = isJson && ts.fresh && sig === 'right' && ts.value !== undefined && bodyKind !== 'garbage' && enc !== 'x-unknown';
          if (acceptable) expect(res.status).toBe(202);
          else expect(ERROR_STATUSES).toContain(res.status);
          // Only a right signature over a fresh timestamp can get past 401.
          if (sig !== 'right' || !ts.fresh || ts.value === undefined) expect([401, 415, 400]).toContain(res.status);
        },
        150,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
