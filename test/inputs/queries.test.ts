import fc from 'fast-check';
import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';
import { hostileText, inputLog, PROPERTY_TIMEOUT_MS, segment, wellFormed } from './arbitraries';
import { addDays, answerKey, dateParam, daysFromTo, documentedAnswers, EDGE_DAYS, fingerprinter, keepAlive, FIRST, realDay, supportedDay, windowPair } from './edges';

/**
 * Property-based layer over the read side: every report (agents, drill-down, variants, trend) in
 * JSON, CSV and HTML, the operators' API (list, lookup, erasure) and the email preview, with the
 * dates the issue names (years 1 and 9999, empty, DST days, 3,700-day windows) and hostile values
 * in every other parameter. Every answer is documented and never a 5xx; a report's period and a
 * refused parameter follow the README's rules, checked by oracles written here; a read or a
 * refused request changes nothing.
 */

const TODAY = '2026-11-25';
const NOW = new Date(`${TODAY}T12:00:00Z`); // 13:00 in Europe/Berlin, the REPORT_TZ: the same day
const MAX_DAYS = 3_700;
const log = inputLog('queries.test.ts');

type Param = { value: string | undefined; ok: boolean };
const absent: Param = { value: undefined, ok: true };
/** Mostly absent or valid, sometimes wrong: each parameter wrong alone is common. */
const param = (valid: readonly string[], wrong: readonly string[]) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant(absent) },
    { weight: 3, arbitrary: fc.constantFrom(...valid).map((value): Param => ({ value, ok: true })) },
    { weight: 1, arbitrary: fc.constantFrom(...wrong).map((value): Param => ({ value, ok: false })) },
  );
/** A filter (team, brand, …): one line of at most 128 characters, no control characters; empty counts as absent. */
const nameOk = (v: string) => v.length <= 128 && !/[\u0000-\u001f\u007f]/.test(v);
const filter = (known: readonly string[]) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(absent) },
    { weight: 3, arbitrary: fc.constantFrom(...known).map((value): Param => ({ value, ok: true })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(hostileText({ sets: ['markup', 'sql', 'formula', 'unicode', 'control', 'lone'], maxPieces: 4 }), fc.constantFrom('x'.repeat(128), 'x'.repeat(129), ' ', '%', '\u0000'))
        .map((raw) => {
          const value = wellFormed(raw);
          return { value, ok: nameOk(value) };
        }),
    },
  );
const dateOk = (v: string | undefined) => v === undefined || v === '' || supportedDay(v);

const qs = (params: Record<string, string | undefined>, extra = '') =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v as string)}`)
    .concat(extra ? [extra] : [])
    .join('&');

describe('reports, the operators API and the preview under generated queries (property-based)', () => {
  let t: TestApp;
  let tables: string[];
  let documented: Set<string>;
  let last: Record<string, string>;
  let fingerprint: () => Promise<Record<string, string>>;
  let http: Awaited<ReturnType<typeof keepAlive>>;
  const undocumented = new Map<string, string>();

  beforeAll(async () => {
    t = await bootApp({ REPORT_TZ: 'Europe/Berlin' }, manualClock(NOW));
    // The audit trail records every CSV export by design (README "People, sign-in and the audit trail"): a read may add to it, nothing else.
    tables = (await tableNames(t.db)).filter((name) => !name.startsWith('knex_') && name !== 'audit_events');
    documented = documentedAnswers();
    fingerprint = fingerprinter(t, tables);
    http = await keepAlive(t);
    const closings: Array<[string, string, string]> = [
      ['a-7', 'billing', '2000-01-01T00:00:00Z'],
      ['a-7', 'billing', '2026-03-29T00:30:00Z'], // Berlin's clocks jump at 02:00 local that day
      ['a-7', 'billing', '2026-03-29T02:30:00+02:00'],
      ['a-8', 'ops', '2026-10-25T00:30:00Z'], // and fall back on this one
      ['a-8', 'ops', '2026-11-24T10:00:00Z'],
      ['a-8', 'billing', '2026-11-25T09:00:00Z'],
      ['a-7', 'ops', '2199-12-31T20:00:00Z'],
    ];
    for (const [i, [agent, team, closedAt]] of closings.entries()) {
      const res = await t.postWebhook(ticketPayload({ agent: { id: agent, name: `Agent ${agent}` }, team, closed_at: closedAt, brand: i % 2 ? 'acme' : null, customer: { email: `q${i}@example.com` } }));
      expect(res.status).toBe(202);
    }
    await t.services.worker.drain();
    for (const survey of (await t.db('surveys').select('id')).slice(0, 4)) {
      await t.services.ratings.recordRating(await t.services.surveys.issueToken(survey.id), { score: 5, comment: 'fine' });
    }
    last = await fingerprint();
  });
  afterAll(async () => {
    await http.close();
    await t.close();
    log.print();
  });

  /** Checks what every answer owes: documented, never 5xx; a refused request (and any read) changed nothing. */
  async function sent(res: request.Response, opts: { reads: boolean }) {
    log.answer(res.status);
    const key = answerKey(res);
    const { method, path: where } = (res as unknown as { req: { method: string; path: string } }).req;
    if (!documented.has(key)) undocumented.set(key, `${method} ${where}`.slice(0, 200));
    expect(res.status).toBeLessThan(500);
    const now = await fingerprint();
    if (opts.reads || res.status >= 400) expect(now).toEqual(last);
    last = now;
    return res;
  }

  describe('reports', () => {
    const auth = () => ({ Authorization: `Bearer ${t.config.reportsToken}` });
    const ENDPOINTS = ['agents', 'agent', 'variants', 'trend'] as const;
    const agentId = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a-7', 'a-8') },
      { weight: 2, arbitrary: fc.constantFrom('nobody', 'A-7', 'a-7 ', '%2F', '..', 'x'.repeat(129), '\u0000', '<script>') },
      { weight: 1, arbitrary: hostileText({ sets: ['markup', 'sql', 'unicode', 'control', 'lone'], maxPieces: 3 }) },
    );
    const query = fc.record({
      /** Half the inputs keep every parameter but the dates right, so the period rules are reached often. */
      clean: fc.boolean(),
      endpoint: fc.constantFrom(...ENDPOINTS),
      agentId,
      dates: fc.oneof(
        { weight: 3, arbitrary: fc.tuple(dateParam, dateParam) },
        // A period of a few days to a year, or a few days backwards, from any day.
        { weight: 3, arbitrary: fc.tuple(dateParam, fc.integer({ min: -3, max: 400 })).map(([a, n]): [string | undefined, string | undefined] => [a, a && supportedDay(a) ? addDays(a, n) : a]) },
        { weight: 1, arbitrary: windowPair },
      ),
      duplicateDates: fc.boolean(),
      format: param(['json', 'csv', 'html', ''], ['xml', 'JSON', 'json ', 'pdf', '%00']),
      accept: fc.constantFrom(undefined, 'application/json', 'text/html', '*/*', 'text/csv', 'image/png'),
      interval: param(['day', 'week', 'month', ''], ['year', 'Week', 'hour', '7']),
      sort: param(['agent_name', 'team', 'surveys_sent', 'responses', 'response_rate', 'csat', 'csat_ci_low', 'avg_score', 'comments'], ['customer_email', 'id; DROP TABLE surveys', 'score', 'CSAT']),
      dir: param(['asc', 'desc'], ['up', 'DESC', '1']),
      page: param(['1', '2', '100000', '1e2', ' 3'], ['0', '-1', '1.5', 'abc', '100001', '1e999']),
      per_page: param(['1', '50', '200'], ['0', '201', '-5', 'x', '2.5']),
      team: filter(['billing', 'ops', 'nope']),
      brand: filter(['acme']),
      question: filter(['handling', 'other']),
      variant: filter(['handling', 'continue']),
      agent: filter(['a-7', 'a-8']),
    });

    it(
      'when a report gets any query (edge dates, windows near 3,700 days, any format and filter), then it answers 200 with the period the README defines, or 400 invalid_query naming exactly the fields at fault, never a 5xx, and stores nothing',
      async () => {
        await log.check(
          'report queries: every report, format and parameter, with edge dates',
          query.map((generated) => {
            if (!generated.clean) return generated;
            const q = { ...generated };
            for (const key of ['format', 'interval', 'sort', 'dir', 'page', 'per_page', 'team', 'brand', 'question', 'variant', 'agent'] as const) if (!q[key].ok) q[key] = absent;
            return q;
          }),
          async (q) => {
            const [from, to] = q.dates;
            const params: Record<string, string | undefined> = {
              from,
              to,
              format: q.format.value,
              interval: q.interval.value,
              sort: q.sort.value,
              dir: q.dir.value,
              page: q.page.value,
              per_page: q.per_page.value,
              team: q.team.value,
              brand: q.brand.value,
              question: q.endpoint === 'variants' && q.question.value === undefined ? 'handling' : q.question.value,
              variant: q.variant.value,
              agent: q.agent.value,
            };
            // A repeated parameter: the first one counts.
            const extra = q.duplicateDates ? [from !== undefined && 'from=9999-12-31', to !== undefined && 'to=0001-01-01'].filter(Boolean).join('&') : '';
            const path = q.endpoint === 'agents' ? '/reports/agents' : q.endpoint === 'agent' ? `/reports/agents/${segment(q.agentId)}` : `/reports/${q.endpoint}`;
            let req = http.get(`${path}?${qs(params, extra)}`).set(auth());
            if (q.accept) req = req.set('Accept', q.accept);
            const res = await sent(await req, { reads: true });

            // The oracle: each parameter on its own, then the period, then the endpoint's own rules.
            const faults = new Set<string>();
            if (!dateOk(from)) faults.add('from');
            if (!dateOk(to)) faults.add('to');
            for (const key of ['format', 'interval', 'sort', 'dir', 'page', 'per_page', 'team', 'brand', 'question', 'variant', 'agent'] as const) if (!q[key].ok) faults.add(key);
            if (q.endpoint === 'variants' && q.question.value === '') faults.add('question');
            const given = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
            const wantTo = faults.size ? '' : given(to) ?? TODAY;
            const monthBefore = faults.size ? '' : addDays(wantTo, -29);
            const wantFrom = given(from) ?? (monthBefore < FIRST ? FIRST : monthBefore);
            if (faults.size === 0) {
              if (wantFrom > wantTo) faults.add('from');
              else if (daysFromTo(wantFrom, wantTo) > MAX_DAYS) faults.add('to');
              else if (q.endpoint === 'agent' && q.format.value === 'csv') faults.add('format');
            }
            const isJson = /^application\/json/.test(res.headers['content-type'] ?? '');
            if (faults.size > 0) {
              expect(res.status).toBe(400);
              if (isJson) {
                expect(res.body.error).toBe('invalid_query');
                expect([...new Set(res.body.details.map((d: { path: string }) => d.path))].sort()).toEqual([...faults].sort());
              }
              return;
            }
            const known = q.endpoint !== 'agent' || ['a-7', 'a-8'].includes(q.agentId);
            expect(res.status).toBe(known ? 200 : 404);
            if (res.status === 200 && isJson) expect([res.body.from, res.body.to]).toEqual([wantFrom, wantTo]);
          },
          2_400,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when a report is asked for without credentials or with wrong ones, then 401 and no numbers, whatever the query',
      async () => {
        const header = fc.constantFrom(undefined, 'Bearer wrong-token-wrong-token', 'Basic Og==', `Basic ${Buffer.from('lead:wrong').toString('base64')}`, 'Bearer', 'Basic !!!', `Bearer ${'x'.repeat(4096)}`, 'Negotiate abc');
        await log.check(
          'report queries without the credential',
          fc.record({ endpoint: fc.constantFrom('/reports/agents', '/reports/agents/a-7', '/reports/trend', '/reports/variants', '/preview/handling'), from: dateParam, to: dateParam, header }),
          async ({ endpoint, from, to, header: h }) => {
            let req = http.get(`${endpoint}?${qs({ from, to })}`);
            if (h) req = req.set('Authorization', h);
            const res = await sent(await req, { reads: true });
            expect(res.status).toBe(401);
            expect(res.text).not.toMatch(/surveys_sent|Agent a-7/);
          },
          200,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });

  describe('the operators API', () => {
    const auth = () => ({ Authorization: `Bearer ${t.config.adminToken}` });

    /** The README's rule: a day (its midnight UTC) or a date-time with offset, whose UTC day is in the calendar. */
    function instantOk(v: string): boolean {
      if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return supportedDay(v);
      const m = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(\.\d+)?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/.exec(v);
      if (!m || !realDay(m[1])) return false;
      const [, day, hh, mm, ss = '0', frac = '', sign, oh = '0', om = '0'] = m;
      if (+oh > 23 || +om > 59) return false; // a shape ISO-8601 allows, but no clock has
      const d = new Date(0);
      d.setUTCFullYear(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10));
      d.setUTCHours(+hh, +mm, +ss, Math.floor(Number(`0${frac}`) * 1000));
      const offsetMs = sign ? (sign === '-' ? -1 : 1) * (+oh * 60 + +om) * 60_000 : 0;
      const ms = d.getTime() - offsetMs;
      return supportedDay(new Date(ms).toISOString().slice(0, 10));
    }
    const instantParam = fc.oneof(
      { weight: 3, arbitrary: dateParam },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...EDGE_DAYS.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)), '2026-11-24', '2026-11-25'),
            fc.constantFrom('T00:00:00Z', 'T23:59:59.999Z', 'T10:00Z', 'T02:30:00+02:00', 'T23:30:00-01:00', 'T00:30:00+01:00', 'T10:00:00+99:99', 'T10:00:00', 'T24:00:00Z', 'T10:00:00+1400', 'T10:00:00-00:00', 't10:00:00z', ' 10:00:00Z'),
          )
          .map(([d, time]) => d + time),
      },
      { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
    );
    const cursors: string[] = [];
    const listQuery = fc.record({
      clean: fc.boolean(),
      from: instantParam,
      to: instantParam,
      limit: param(['1', '2', '200', '50'], ['0', '201', '-1', 'x', '1.5']),
      status: param(['scheduled', 'sent', 'failed', 'suppressed', 'cancelled'], ['lost', 'SENT', "sent' OR 1=1"]),
      ticket_id: filter(['T-1']),
      agent_id: filter(['a-7', 'a-8']),
      cursor: fc.oneof(
        { weight: 4, arbitrary: fc.constant<'none' | 'real' | 'forged'>('none') },
        { weight: 2, arbitrary: fc.constant<'none' | 'real' | 'forged'>('real') },
        { weight: 2, arbitrary: fc.constant<'none' | 'real' | 'forged'>('forged') },
      ),
      forged: fc.oneof(
        fc.tuple(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(8.64e15, 8.64e15 + 1, -8.64e15, 1e20, Date.parse('9999-12-31T00:00:00Z'), Date.parse('1999-12-31T23:59:59Z'), Date.parse('2026-11-24T00:00:00Z'))), fc.oneof(fc.string(), fc.constant('zzzz'))).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')),
        fc.string({ maxLength: 40 }),
        fc.constantFrom('%%%', 'x'.repeat(201), ''),
      ),
    });

    it(
      'when the survey list gets any filters and cursors, then it answers 200 with surveys inside the period newest first, or 400 invalid_query naming the field, and stores nothing',
      async () => {
        await log.check(
          'admin list queries: period, limit, status, cursor',
          listQuery.map((q) =>
            q.clean
              ? { ...q, limit: q.limit.ok ? q.limit : absent, status: q.status.ok ? q.status : absent, from: instantOk(q.from ?? '') ? q.from : undefined, to: instantOk(q.to ?? '') ? q.to : undefined }
              : q,
          ),
          async (q) => {
            const cursor = q.cursor === 'real' ? cursors[cursors.length - 1] : q.cursor === 'forged' ? q.forged : undefined;
            const params = { from: q.from, to: q.to, limit: q.limit.value, status: q.status.value, ticket_id: q.ticket_id.value, agent_id: q.agent_id.value, cursor };
            const res = await sent(await http.get(`/api/surveys?${qs(params)}`).set(auth()), { reads: true });
            const faults = new Set<string>();
            if (q.from !== undefined && q.from !== '' && !instantOk(q.from)) faults.add('from');
            if (q.to !== undefined && q.to !== '' && !instantOk(q.to)) faults.add('to');
            for (const key of ['limit', 'status'] as const) if (!q[key].ok) faults.add(key);
            for (const key of ['ticket_id', 'agent_id'] as const) if (!q[key].ok) faults.add(key);
            if (faults.size > 0) {
              expect(res.status).toBe(400);
              const paths = new Set(res.body.details.map((d: { path: string }) => d.path));
              for (const f of faults) expect([f, paths.has(f)]).toEqual([f, true]);
              return;
            }
            if (res.status === 400) {
              // Only the cursor may still be refused: one this API did not give out.
              expect([q.cursor, res.body.details.map((d: { path: string }) => d.path)]).toEqual(['forged', ['cursor']]);
              return;
            }
            expect(res.status).toBe(200);
            const closed = res.body.items.map((s: { closed_at: string }) => s.closed_at);
            expect([...closed].sort().reverse()).toEqual(closed);
            const bound = (v: string | undefined) => (v ? new Date(/T/.test(v) ? v : `${v}T00:00:00Z`).getTime() : undefined);
            const [lo, hi] = [bound(q.from), bound(q.to)];
            for (const c of closed) {
              if (lo !== undefined) expect(Date.parse(c)).toBeGreaterThanOrEqual(lo);
              if (hi !== undefined) expect(Date.parse(c)).toBeLessThan(hi);
            }
            if (res.body.next_cursor) cursors.push(res.body.next_cursor);
          },
          1_000,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'when a survey is looked up or a customer erased by any id or address, then it answers 200, 400 invalid_request or 404, never a 5xx, and a refused one changes nothing',
      async () => {
        const known = await t.db('surveys').select('id');
        const value = fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(...known.map((r) => r.id as string)) },
          { weight: 2, arbitrary: fc.constantFrom('nobody@example.com', 'NOBODY@EXAMPLE.COM', ' q9@example.com ', 'not-an-email', '@', 'a@b', 'a@b.c', '%40', 'x'.repeat(400) + '@example.com', "o'hara@example.com", '"quoted"@example.com') },
          { weight: 1, arbitrary: fc.emailAddress() },
          { weight: 2, arbitrary: hostileText({ sets: ['markup', 'sql', 'unicode', 'control', 'lone', 'header'], maxPieces: 3 }) },
        );
        await log.check(
          'admin lookups and erasures by any id or address',
          fc.record({ kind: fc.constantFrom('lookup', 'erase'), value, head: fc.boolean() }),
          async ({ kind, value: v, head }) => {
            const path = kind === 'lookup' ? `/api/surveys/${segment(v)}` : `/api/customers/${segment(v)}`;
            const req = kind === 'erase' ? http.delete(path) : head ? http.head(path) : http.get(path);
            const res = await sent(await req.set(auth()), { reads: kind === 'lookup' });
            expect([200, 400, 404]).toContain(res.status);
            if (kind === 'lookup') expect(res.status).toBe(known.some((r) => r.id === wellFormed(v)) ? 200 : 404);
          },
          400,
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });

  it(
    'when the email preview gets any question, locale, brand, variant and format, then 200, 400 or 404, never a 5xx',
    async () => {
      await log.check(
        'preview queries',
        fc.record({
          question: fc.oneof(fc.constantFrom('handling', 'nope', '', '..'), hostileText({ sets: ['markup', 'unicode', 'control'], maxPieces: 2 })),
          locale: fc.oneof(fc.constantFrom(undefined, '', 'en', 'de-AT', 'zz', 'x'.repeat(36)), hostileText({ maxPieces: 2 })),
          brand: fc.oneof(fc.constantFrom(undefined, '', 'acme', 'x'.repeat(129)), hostileText({ maxPieces: 2 })),
          variant: fc.constantFrom(undefined, '', 'handling', 'continue', 'nope'),
          format: fc.constantFrom(undefined, '', 'json', 'html', 'csv'),
        }),
        async ({ question, locale, brand, variant, format }) => {
          const res = await sent(
            await http
              .get(`/preview/${segment(question)}?${qs({ locale: locale && wellFormed(locale), brand: brand && wellFormed(brand), variant, format })}`)
              .set('Authorization', `Bearer ${t.config.reportsToken}`),
            { reads: true },
          );
          expect([200, 400, 404]).toContain(res.status);
        },
        300,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('when every answer above is looked up in the README table "Every answer", then each status and error code is there', () => {
    expect(Object.fromEntries(undocumented)).toEqual({});
  });
});
