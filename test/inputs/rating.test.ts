import fc from 'fast-check';
import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';
import { surveyWithToken } from '../ratings/fixtures';
import { anyJson, hostileText, htmlEscaped, inputLog, PROPERTY_TIMEOUT_MS, rawSegment, routedSegments, rowCounts, segment, wellFormed } from './arbitraries';

/**
 * Property-based layer over the rating endpoints (GET /r/:token, GET /r/:token/:score,
 * GET /r/:token/check, POST /r/:token): tokens of every length and alphabet, scores and
 * comments of every shape. Every answer is a 4xx or the documented success, never a 5xx, and a
 * refused request changes nothing. test/ratings/*.test.ts pins the individual cases.
 */

const NOW = new Date('2026-11-20T10:05:00Z');
const ORIGIN = new URL(PUBLIC_URL).origin;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const log = inputLog('rating.test.ts');

/** What a browser on our page sends: the fetch() of the rating page, or its form (Origin: null under no-referrer). */
const browserJson = { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', 'Content-Type': 'application/json', Accept: 'application/json' };
const browserForm = { Origin: 'null', 'Sec-Fetch-Site': 'same-origin', 'Content-Type': 'application/x-www-form-urlencoded' };

function post(t: TestApp, path: string, body: string, headers: Record<string, string>) {
  let req = request(t.app).post(path).serialize((s) => s);
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  return req.send(body);
}

describe('rating endpoints under generated input (property-based)', () => {
  let t: TestApp;
  let tables: string[];
  const surveys: Array<{ surveyId: string; token: string }> = [];

  beforeAll(async () => {
    t = await bootApp({}, manualClock(NOW));
    tables = (await tableNames(t.db)).filter((name) => !name.startsWith('knex_'));
    for (let i = 0; i < 4; i += 1) surveys.push(await surveyWithToken(t, { customer: { email: `r${i}@example.com`, name: 'Ann' } }));
  });
  afterAll(async () => {
    await t.close();
    log.print();
  });

  /** Every row count, plus each survey's current answer: what a refused request must leave alone. */
  const state = async () => ({
    counts: await rowCounts(t, tables),
    answers: await t.db('surveys').orderBy('id').select('id', 'score', 'comment', 'first_rated_at', 'rated_at'),
  });

  describe('tokens of every length and alphabet', () => {
    const realTokens = () => new Set(surveys.map((s) => s.token));

    /** Tokens a link could carry: none of them is a real one (the real ones are 256 random bits). */
    const token = fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 120 }) },
      { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 43, maxLength: 43 }) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 42, maxLength: 42 }), fc.nat({ max: 42 }), fc.constantFrom('+', '/', '=', '.', '%', '~', ' ', 'é', '😀', '\u0000', '\u200b', '%2F', '%00', '..'))
          .map(([s, at, ch]) => s.slice(0, at) + ch + s.slice(at)),
      },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.nat({ max: 3 }), fc.constantFrom('flip', 'cut', 'grow', 'pad', 'upper', 'lower', 'space')).map(([i, how]) => {
          const real = surveys[i].token;
          if (how === 'flip') return (real[0] === 'A' ? 'B' : 'A') + real.slice(1);
          if (how === 'cut') return real.slice(0, -1);
          if (how === 'grow') return `${real}A`;
          if (how === 'pad') return `${real}=`;
          if (how === 'space') return ` ${real}`;
          const cased = how === 'upper' ? real.toUpperCase() : real.toLowerCase();
          return cased === real ? `${real}x` : cased;
        }),
      },
      { weight: 3, arbitrary: hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode', 'control', 'lone'] }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
      { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '/', '//', '%', '%%', '%2', '%G0', '%E0%A4%A', '%C0%AF', '%FF', '%00', '%2e%2e', '?', '#', 'check') },
      { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }).chain((n) => fc.string({ unit: fc.constantFrom(...BASE64URL, '%', '/', 'é'), minLength: n, maxLength: n })) },
    );
    const endpoint = fc.oneof(
      fc.constant({ method: 'GET', suffix: '' }),
      fc.constantFrom('1', '3', '5').map((score) => ({ method: 'GET', suffix: `/${score}` })),
      fc.constant({ method: 'GET', suffix: '/check' }),
      fc.constant({ method: 'HEAD', suffix: '/4' }),
      fc.constant({ method: 'POST-JSON', suffix: '' }),
      fc.constant({ method: 'POST-FORM', suffix: '' }),
    );

    /** Sends `tok` to one endpoint and checks the invariants of a refused link: 4xx, no change anywhere. */
    async function expectRefusedLink(path: string, method: string) {
      const before = await state();
      const res =
        method === 'GET'
          ? await request(t.app).get(path)
          : method === 'HEAD'
            ? await request(t.app).head(path)
            : method === 'POST-JSON'
              ? await post(t, path, JSON.stringify({ score: 3, comment: 'fine' }), browserJson)
              : await post(t, path, 'score=3&comment=fine', browserForm);
      log.answer(res.status);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await state()).toEqual(before);
      return res;
    }

    it(
      'when a rating link carries any token but a real one (sent percent-encoded), then every endpoint answers a 404 that does not echo it, and nothing is stored',
      async () => {
        await log.check(
          'tokens × endpoints, percent-encoded',
          fc.record({ token, endpoint }),
          async ({ token: tok, endpoint: ep }) => {
            if (realTokens().has(wellFormed(tok))) return; // 2^-256: never, but a property must not assume it
            const res = await expectRefusedLink(`/r/${segment(tok)}${ep.suffix}`, ep.method);
            expect(res.status).toBe(404);
            if (ep.method !== 'HEAD' && tok.trim().length >= 8) {
              expect(res.text).not.toContain(tok);
              expect(res.text).not.toContain(htmlEscaped(tok));
            }
          },
          200,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when a rating link carries any token but a real one written raw (bare %, malformed escapes, extra slashes), then every endpoint answers 4xx, never 5xx, and nothing is stored',
      async () => {
        await log.check(
          'tokens × endpoints, raw',
          // Short tokens over the characters that matter raw come first, so a failure shrinks to a readable one.
          fc.record({ token: fc.oneof({ withCrossShrink: true }, fc.string({ unit: fc.constantFrom('A', '%', '/', '2', 'F', 'é'), maxLength: 12 }), token), endpoint }),
          async ({ token: tok, endpoint: ep }) => {
            const wire = rawSegment(tok);
            if (routedSegments(wire).some((seg) => seg !== undefined && realTokens().has(seg))) return;
            await expectRefusedLink(`/r/${wire}${ep.suffix}`, ep.method);
          },
          150,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when a real token is opened with any score segment, then only 1..5 show a page (and record a view), check is the decoy, and the rest answer 404 without a view',
      async () => {
        const score = fc.oneof(
          fc.constantFrom('1', '2', '3', '4', '5', '0', '6', '10', '05', '-1', '1.0', '3 ', '٣', '３', 'check', 'CHECK', '%31', '%', '%G', '%E0', '..', 'x', '1/2'),
          fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
          hostileText({ sets: ['markup', 'sql', 'unicode', 'control'], maxPieces: 2 }),
        );
        await log.check(
          'real token × any score segment',
          fc.record({ which: fc.nat({ max: 3 }), score, raw: fc.boolean() }),
          async ({ which, score: s, raw }) => {
            const { surveyId, token: tok } = surveys[which];
            const wire = raw ? rawSegment(s) : segment(s);
            const viewsBefore = await t.db('link_events').where({ survey_id: surveyId }).select('kind', 'score');
            const before = await state();
            const res = await request(t.app).get(`/r/${tok}/${wire}`);
            log.answer(res.status);
            expect(res.status).toBeLessThan(500);
            const views = await t.db('link_events').where({ survey_id: surveyId }).select('kind', 'score');
            const added = views.slice(viewsBefore.length);
            // What the router sees after the token: one segment (maybe undecodable) or several.
            const segs = raw ? routedSegments(wire) : [wellFormed(s)];
            const decoded = segs.length === 1 ? segs[0] : undefined;
            const oneSegment = decoded !== undefined;
            if (oneSegment && /^[1-5]$/.test(decoded)) {
              expect(res.status).toBe(200);
              expect(added.filter((v) => v.kind === 'view')).toEqual([{ kind: 'view', score: Number(decoded) }]);
            } else if (routedSegments(wire).length === 1 && wire.replace(/\/$/, '').toLowerCase() === 'check') {
              // The decoy route is matched on the path as written, case-insensitively as express routes are.
              expect([res.status, res.text]).toEqual([200, 'OK']);
              expect(added).toEqual([{ kind: 'scanner_decoy', score: null }]);
            } else {
              expect(res.status).toBeGreaterThanOrEqual(400);
              expect(added).toEqual([]);
              expect(await state()).toEqual(before);
            }
          },
          150,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });

  describe('scores and comments of every shape', () => {
    /** The README's rule for a score: an integer 1–5, as a JSON number or a one-digit string. */
    const validScore = (s: unknown) => (typeof s === 'number' && Number.isInteger(s) && s >= 1 && s <= 5) || (typeof s === 'string' && /^[1-5]$/.test(s));
    // README: up to 2,000 characters, no control characters but line breaks and tabs, no unpaired surrogate.
    const validComment = (c: unknown) => typeof c === 'string' && [...c].length <= 2000 && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(c) && wellFormed(c) === c;

    const scoreValue = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: -2, max: 7 }) },
      { weight: 2, arbitrary: fc.constantFrom('1', '2', '3', '4', '5', '0', '6', '05', ' 3', '3 ', '٣', '３', '3.0', '1e0', '', 'abc', '+4', '4\n') },
      { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
      { weight: 1, arbitrary: fc.constantFrom(1.5, 4.0000001, -0, 1e308, 5e-324, 2 ** 53) },
      { weight: 1, arbitrary: anyJson },
    );
    const commentValue = fc.oneof(
      { weight: 4, arbitrary: hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode', 'control', 'lone'], maxPieces: 8 }) },
      {
        weight: 2,
        arbitrary: fc.tuple(fc.integer({ min: 1995, max: 2005 }), fc.constantFrom('x', 'é', '王', '😀', '\r\n', '<', ' ')).map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)),
      },
      { weight: 1, arbitrary: fc.constantFrom('', '   ', '\r\n\t', '\u0000', 'a\u0000b', '\u00a0', '\ufeff') },
      { weight: 1, arbitrary: hostileText({ sets: ['markup', 'unicode'], maxPieces: 2 }).map((c) => `${c}\u0000`) },
      { weight: 1, arbitrary: fc.integer({ min: 2001, max: 20_000 }).map((n) => 'y'.repeat(n)) },
      { weight: 1, arbitrary: anyJson },
    );
    const ABSENT = Symbol('absent');
    const field = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: fc.constant<typeof ABSENT>(ABSENT) });

    type Answer = { score: number | null; comment: string | null };
    const model = new Map<string, Answer>();
    const answerOf = (id: string): Answer => model.get(id) ?? { score: null, comment: null };

    /**
     * What the README promises for one body against the survey's current answer: the new answer
     * (documented success), or a refusal. `undefined` score/comment mean "not sent".
     */
    function expected(current: Answer, score: unknown, comment: unknown, isObject: boolean): Answer | 'refused' {
      if (!isObject) return 'refused';
      if (score === undefined && comment === undefined) return 'refused';
      if (score !== undefined && !validScore(score)) return 'refused';
      if (comment !== undefined && !validComment(comment)) return 'refused';
      const next = score === undefined ? current.score : Number(score);
      if (next === null) return 'refused'; // a comment before any score
      return { score: next, comment: comment === undefined ? current.comment : wellFormed((comment as string).trim()) || null };
    }

    async function expectOutcome(surveyId: string, token: string, outcome: Answer | 'refused', before: Awaited<ReturnType<typeof state>>, res: request.Response, kind: 'json' | 'form') {
      log.answer(res.status);
      expect(res.status).toBeLessThan(500);
      if (outcome === 'refused') {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(await state()).toEqual(before);
        return;
      }
      if (kind === 'json') {
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('recorded');
        expect([res.body.score, res.body.comment === null ? null : wellFormed(res.body.comment)]).toEqual([outcome.score, outcome.comment]);
      } else {
        expect([res.status, res.headers.location]).toEqual([303, `/r/${token}`]);
      }
      const row = await t.db('surveys').where({ id: surveyId }).first('score', 'comment');
      expect({ score: row.score, comment: row.comment }).toEqual(outcome);
      model.set(surveyId, outcome);
      // The thanks page shows the stored comment back, escaped, inside its textarea.
      const page = await request(t.app).get(`/r/${token}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`>${htmlEscaped(outcome.comment ?? '')}</textarea>`);
    }

    it(
      'when JSON bodies carry any score and comment, then the rating is recorded exactly when the README allows it, else 4xx with nothing changed',
      async () => {
        const body = fc.oneof(
          { weight: 6, arbitrary: fc.record({ score: field(scoreValue), comment: field(commentValue), other: field(anyJson) }) },
          { weight: 1, arbitrary: anyJson.map((value) => ({ whole: value })) },
        );
        await log.check(
          'JSON bodies',
          fc.record({ which: fc.nat({ max: 3 }), body }),
          async ({ which, body: b }) => {
            const { surveyId, token } = surveys[which];
            let raw: string;
            let outcome: Answer | 'refused';
            if ('whole' in b) {
              raw = JSON.stringify(b.whole);
              const obj = b.whole !== null && typeof b.whole === 'object' && !Array.isArray(b.whole) ? (b.whole as Record<string, unknown>) : undefined;
              outcome = expected(answerOf(surveyId), obj?.score, obj?.comment, obj !== undefined);
            } else {
              const sent: Record<string, unknown> = {};
              for (const key of ['score', 'comment', 'other'] as const) if (b[key] !== ABSENT) sent[key] = b[key];
              raw = JSON.stringify(sent);
              outcome = expected(answerOf(surveyId), sent.score, sent.comment, true);
            }
            if (Buffer.byteLength(raw) > 64 * 1024) outcome = 'refused'; // the documented 64 kB body limit
            const before = await state();
            const res = await post(t, `/r/${token}`, raw, browserJson);
            await expectOutcome(surveyId, token, outcome, before, res, 'json');
          },
          250,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when the page\'s form posts any score and comment (browser encoding, repeated or malformed fields), then it redirects exactly when the README allows it, else 4xx with nothing changed',
      async () => {
        const formValue = fc.oneof(
          { weight: 4, arbitrary: fc.oneof(scoreValue, commentValue).filter((v) => typeof v === 'string').map((v) => ({ value: wellFormed(v), wire: encodeForm(v) })) },
          { weight: 1, arbitrary: fc.constantFrom('%', '%E0', '%G1', '%33', '3%00', '+3', '%2B3').map((wire) => ({ value: decodeForm(wire), wire })) },
        );
        const pairs = fc.array(fc.tuple(fc.constantFrom('score', 'comment', 'other', 'Score'), formValue), { maxLength: 4 });
        await log.check(
          'form bodies',
          fc.record({ which: fc.nat({ max: 3 }), pairs }),
          async ({ which, pairs: list }) => {
            const { surveyId, token } = surveys[which];
            const raw = list.map(([key, v]) => `${key}=${v.wire}`).join('&');
            const values = (key: string) => list.filter(([k]) => k === key).map(([, v]) => v.value);
            // A repeated field arrives as a list, which is neither a score nor a comment.
            const pick = (key: string) => {
              const all = values(key);
              return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
            };
            let outcome = expected(answerOf(surveyId), pick('score'), pick('comment'), true);
            if (Buffer.byteLength(raw) > 64 * 1024) outcome = 'refused';
            const before = await state();
            const res = await post(t, `/r/${token}`, raw, browserForm);
            await expectOutcome(surveyId, token, outcome, before, res, 'form');
          },
          200,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when the page\'s form posts a comment of at most 2000 characters in any script, then it is recorded (the README allows 2,000 characters; the body limit must not refuse them)',
      async () => {
        // Built inside the property, so a counterexample reads as its length and script, not as the text.
        const comment = fc.record({ length: fc.integer({ min: 1, max: 2000 }), unit: fc.constantFrom('x', 'é', '王', 'ह', '😀', '\r\n', 'Ünïcödé ', 'مرحبا') });
        await log.check(
          'form comments up to 2000 characters',
          fc.record({ which: fc.nat({ max: 3 }), comment }),
          async ({ which, comment: { length, unit } }) => {
            const c = unit.repeat(Math.ceil(length / unit.length)).slice(0, length).replace(/[\ud800-\udbff]$/, 'x');
            const { surveyId, token } = surveys[which];
            const current = answerOf(surveyId);
            const score = current.score ?? 4;
            const before = await state();
            const res = await post(t, `/r/${token}`, new URLSearchParams({ score: String(score), comment: c }).toString(), browserForm);
            await expectOutcome(surveyId, token, { score, comment: c.trim() || null }, before, res, 'form');
          },
          40,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when the body is not JSON or a form (any media type, malformed JSON, bad charset or encoding), then it answers 4xx and nothing changes',
      async () => {
        const contentType = fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-7', 'application/x-www-form-urlencoded; charset=koi8-r', 'application/json');
        const raw = fc.oneof(
          fc.constantFrom('{"score":3', '{"score":3,}', "{'score':3}", '3', '"3"', 'null', 'score=3', '\uFEFF{"score":3}', '{"score":3}{"score":4}', '{"__proto__":{"score":3}}'),
          fc.string({ unit: 'binary', maxLength: 40 }),
        );
        const encoding = fc.constantFrom(undefined, 'gzip', 'deflate', 'br', 'x-unknown');
        await log.check(
          'non-JSON, non-form bodies',
          fc.record({ which: fc.nat({ max: 3 }), contentType, raw, encoding }),
          async ({ which, contentType: type, raw: r, encoding: enc }) => {
            const { surveyId, token } = surveys[which];
            let parsed: unknown;
            try {
              parsed = JSON.parse(r);
            } catch {
              parsed = undefined;
            }
            // A well-formed JSON object sent as plain application/json is the documented success case, covered above.
            if (type === 'application/json' && enc === undefined && parsed !== null && typeof parsed === 'object') return;
            const headers: Record<string, string> = { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin', 'Content-Type': type };
            if (enc) headers['Content-Encoding'] = enc;
            const before = await state();
            const res = await post(t, `/r/${token}`, r, headers);
            log.answer(res.status);
            expect(res.status).toBeGreaterThanOrEqual(400);
            expect(res.status).toBeLessThan(500);
            expect(await state()).toEqual(before);
            expect((await t.db('surveys').where({ id: surveyId }).first('score')).score).toBe(answerOf(surveyId).score);
          },
          100,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });
});

/** A browser's application/x-www-form-urlencoded encoding of one value. */
function encodeForm(value: string): string {
  return new URLSearchParams({ v: wellFormed(value) }).toString().slice(2);
}

/** How the service's form reader decodes one value: '+' is a space, bad escapes stay as written. */
function decodeForm(wire: string): string {
  const spaced = wire.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
