import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import request from 'supertest';
import { bootApp, manualClock, TEST_SECRET, ticketPayload, type TestApp } from '../helpers/boot';
import { tableNames } from '../helpers/database';
import { signBody } from '../../src/shared/signature';
import { hostileText, inputLog, PROPERTY_TIMEOUT_MS, rawSegment, segment, wellFormed } from './arbitraries';
import { answerKey, documentedAnswers, EDGE_DAYS, fingerprinter, keepAlive, realDay, supportedDay } from './edges';
import { fixtureJson, HELPDESK_SECRETS, hmac } from '../helpers/helpdesks';

/**
 * Property-based layer over the whole HTTP surface: every route and unknown paths, with every
 * method, credential, media type, encoding and body shape, and the webhooks (generic and each
 * helpdesk adapter) with closed_at at the edges of the calendar. Every answer is one the README's
 * "Every answer" table lists, never a 5xx, and a refused request stores nothing.
 */

const NOW = new Date('2026-11-20T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const log = inputLog('routes.test.ts');
const SECRETS = {
  ...HELPDESK_SECRETS,
  METRICS_TOKEN: 'metrics-token-0123456789',
};

/** The README's rule for closed_at: an ISO-8601 date-time with offset whose UTC day is in 2000-01-01..2199-12-31. */
function closedAtOk(v: string): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(\.\d+)?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/.exec(v);
  if (!m || !realDay(m[1])) return false;
  const [, day, hh, mm, ss = '0', , sign, oh = '0', om = '0'] = m;
  if (+oh > 23 || +om > 59) return false;
  const d = new Date(0);
  d.setUTCFullYear(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10));
  d.setUTCHours(+hh, +mm, +ss);
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (+oh * 60 + +om) * 60_000 : 0;
  return supportedDay(new Date(d.getTime() - offsetMs).toISOString().slice(0, 10));
}

/** closed_at values: edge days at edge times and offsets (DST nights, the calendar's ends, years 1 and 9999), and junk. */
const closedAt = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...EDGE_DAYS.filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)), '2026-11-20', '1999-12-31', '2200-01-01'),
        fc.constantFrom('T00:00:00Z', 'T23:59:59Z', 'T02:30:00+01:00', 'T02:30:00+02:00', 'T01:30:00-04:00', 'T00:00:00-03:00', 'T23:30:00-14:00', 'T00:30:00+14:00', 'T12:00:00.999999Z', 'T10:00Z', 'T10:00:00+99:99', 'T10:00:00+2400', 'T10:00:00', 'T24:00:00Z'),
      )
      .map(([d, time]) => d + time),
  },
  { weight: 2, arbitrary: fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2210-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'now', '0', '1795168800', '2026-11-20', '+275760-09-13T00:00:00Z', '-000001-01-01T00:00:00Z', '2026-11-20T10:00:00Z ', '2026-11-20T10:00:00ZZ') },
);

describe('every route and method under generated requests (property-based)', () => {
  let t: TestApp;
  let tables: string[];
  let documented: Set<string>;
  let last: Record<string, string>;
  let fingerprint: () => Promise<Record<string, string>>;
  let http: Awaited<ReturnType<typeof keepAlive>>;
  const undocumented = new Map<string, string>();
  const tokens = { rating: '', unsubscribe: '' };

  beforeAll(async () => {
    t = await bootApp(SECRETS, manualClock(NOW));
    tables = (await tableNames(t.db)).filter((name) => !name.startsWith('knex_'));
    documented = documentedAnswers();
    fingerprint = fingerprinter(t, tables);
    http = await keepAlive(t);
    expect((await t.postWebhook(ticketPayload({ ticket_id: 'T-real', customer: { email: 'real@example.com' } }))).status).toBe(202);
    await t.services.worker.drain();
    // The real links of the one delivered email (written as .eml with no SMTP_URL).
    const dir = path.join(t.dir, 'outbox');
    const mail = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n').replace(/=\r?\n/g, '');
    tokens.rating = /\/r\/([A-Za-z0-9_-]{43})/.exec(mail)![1];
    tokens.unsubscribe = /\/u\/([A-Za-z0-9_-]{43})/.exec(mail)![1];
    last = await fingerprint();
  });
  afterAll(async () => {
    await http.close();
    await t.close();
    log.print();
  });

  /**
   * What every answer owes: a documented status and code, never a 5xx; a refused request stored
   * nothing, except that a refused sign-in link is itself recorded: one `signin_failed` row in the
   * audit trail (README, "People, sign-in and the audit trail").
   */
  async function sent(res: request.Response) {
    log.answer(res.status);
    const key = answerKey(res);
    const { method, path: where } = (res as unknown as { req: { method: string; path: string } }).req;
    if (!documented.has(key)) undocumented.set(key, `${method} ${where}`.slice(0, 200));
    expect(res.status).toBeLessThan(500);
    const now = await fingerprint();
    if (res.status >= 400 && method === 'POST' && where.startsWith('/login/') && now.audit_events !== last.audit_events) {
      expect([Number(now.audit_events), (await t.db('audit_events').orderBy('id', 'desc').first()).action]).toEqual([Number(last.audit_events) + 1, 'signin_failed']);
      expect({ ...now, audit_events: last.audit_events }).toEqual(last);
    } else if (res.status >= 400) expect(now).toEqual(last);
    last = now;
    return res;
  }

  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PURGE', 'SEARCH'] as const;
  const token = fc.oneof(
    { weight: 2, arbitrary: fc.constant('real') },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
    { weight: 1, arbitrary: fc.constantFrom('', '.', '%', '%E0%A4%A', '%2F', 'x'.repeat(300), 'check') },
    { weight: 2, arbitrary: hostileText({ sets: ['markup', 'sql', 'unicode', 'control', 'lone'], maxPieces: 3 }) },
  );
  const id = fc.oneof(fc.constantFrom('a-7', 'handling', 'nobody', ''), hostileText({ sets: ['markup', 'unicode', 'control', 'lone'], maxPieces: 2 }));
  /** A path: each real route with generated parameters, and paths no route has. */
  const routePath = fc.oneof(
    fc.constantFrom('/healthz', '/readyz', '/metrics', '/webhooks/ticket-closed', '/webhooks/ticket-reopened', '/webhooks/zendesk', '/webhooks/helpscout', '/webhooks/freshdesk', '/webhooks/intercom'),
    fc.constantFrom('/reports/agents', '/reports/variants?question=handling', '/reports/trend', '/reports/ratings', '/api/surveys', '/preview/handling', '/reports/agents/a-7'),
    fc.constantFrom('/api/users', '/api/audit', '/api/followups', '/followups', '/login', '/login/sso', '/login/sso/callback', '/logout', '/me'),
    fc.tuple(fc.constantFrom('/r/', '/u/'), token, fc.constantFrom('', '/1', '/5', '/0', '/check', '/x/y', '/')).map(([base, tok, tail]) => ({ base, tok, tail })),
    fc.tuple(fc.constantFrom('/api/surveys/', '/api/customers/', '/reports/agents/', '/preview/', '/webhooks/', '/api/users/', '/api/followups/', '/followups/', '/login/'), id).map(([base, v]) => `${base}${segment(v)}`),
    fc.constantFrom('/', '//', '/favicon.ico', '/.env', '/admin', '/api', '/reports', '/r', '/u', '/webhooks', '/REPORTS/AGENTS', '/reports/agents/', '/healthz/', '/%2e%2e/%2e%2e/etc/passwd', '/r/%E0%A4%A', '/api/surveys/%', '/webhooks/ticket-closed/x', '/metrics?x=1', '/robots.txt'),
    hostileText({ sets: ['markup', 'sql', 'unicode'], maxPieces: 3 }).map((s) => `/${rawSegment(s)}`),
  );
  const credential = fc.constantFrom<string | undefined>(
    undefined,
    'reports',
    'admin',
    'metrics',
    'Bearer wrong-token-0123456789',
    'Basic Og==',
    `Basic ${Buffer.from('x:closeloop-dev-reports-token-do-not-use-in-production').toString('base64')}`,
    'Bearer',
    `Bearer ${'x'.repeat(8192)}`,
    'Digest username="x"',
  );
  const body = fc.constantFrom('none', 'json', 'form', 'multipart', 'garbage', 'gzip-json', 'gzip-garbage', 'unknown-encoding', 'huge', 'latin1', 'many-fields');
  const headers = fc.record(
    {
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'text/csv', ''),
      origin: fc.constantFrom('https://csat.example.test', 'https://evil.example', 'null'),
      fetchSite: fc.constantFrom('same-origin', 'cross-site', 'none'),
      requestId: fc.oneof(fc.constantFrom('abc', 'x'.repeat(65), '../../etc', 'a\u00e9'), fc.string({ maxLength: 20 })),
      forwardedFor: fc.constantFrom('1.2.3.4', 'not-an-ip', '::1, 10.0.0.1', ''),
    },
    { requiredKeys: [] },
  );

  it(
    'when any route gets any method, credential, media type, encoding and body, then the answer is documented, never a 5xx, and a refused request stores nothing',
    async () => {
      await log.check(
        'every route × method × credential × body',
        fc.record({ method: fc.constantFrom(...METHODS), path: routePath, credential, body, headers }),
        async (input) => {
          const where =
            typeof input.path === 'string'
              ? input.path
              : `${input.path.base}${input.path.tok === 'real' ? (input.path.base === '/r/' ? tokens.rating : tokens.unsubscribe) : segment(input.path.tok)}${input.path.tail}`;
          let req = http.call(input.method, where, input.body !== 'none');
          const cred = input.credential;
          if (cred === 'reports') req = req.set('Authorization', `Bearer ${t.config.reportsToken}`);
          else if (cred === 'admin') req = req.set('Authorization', `Bearer ${t.config.adminToken}`);
          else if (cred === 'metrics') req = req.set('Authorization', `Bearer ${SECRETS.METRICS_TOKEN}`);
          else if (cred) req = req.set('Authorization', cred);
          const h = input.headers;
          if (h.accept !== undefined) req = req.set('Accept', h.accept);
          if (h.origin !== undefined) req = req.set('Origin', h.origin);
          if (h.fetchSite !== undefined) req = req.set('Sec-Fetch-Site', h.fetchSite);
          if (h.requestId !== undefined && /^[\t\x20-\x7e]*$/.test(h.requestId)) req = req.set('X-Request-Id', h.requestId);
          if (h.forwardedFor !== undefined) req = req.set('X-Forwarded-For', h.forwardedFor);
          const json = JSON.stringify({ ...ticketPayload(), score: 4, comment: 'ok', action: 'unsubscribe' });
          const signedJson = (raw: Buffer, type = 'application/json') =>
            req.set('Content-Type', type).set('X-Closeloop-Timestamp', String(NOW_S)).set('X-Closeloop-Signature', signBody(TEST_SECRET, String(NOW_S), raw));
          let res: request.Response;
          switch (input.body) {
            case 'none':
            default:
              res = await req;
              break;
            case 'json':
              res = await signedJson(Buffer.from(json)).serialize((b) => b).send(Buffer.from(json));
              break;
            case 'form':
              res = await req.type('form').send('score=4&comment=ok&action=unsubscribe&List-Unsubscribe=One-Click');
              break;
            case 'multipart':
              res = await req.field('List-Unsubscribe', 'One-Click');
              break;
            case 'garbage':
              res = await signedJson(crypto.randomBytes(64)).serialize((b) => b).send(crypto.randomBytes(64));
              break;
            case 'gzip-json': {
              const gz = zlib.gzipSync(json);
              res = await signedJson(Buffer.from(json)).set('Content-Encoding', 'gzip').serialize((b) => b).send(gz);
              break;
            }
            case 'gzip-garbage':
              res = await signedJson(Buffer.from('x')).set('Content-Encoding', 'gzip').serialize((b) => b).send(Buffer.from('not gzip at all'));
              break;
            case 'unknown-encoding':
              res = await signedJson(Buffer.from(json)).set('Content-Encoding', 'compress').serialize((b) => b).send(Buffer.from(json));
              break;
            case 'huge': {
              const raw = Buffer.from(JSON.stringify({ ...JSON.parse(json), padding: 'x'.repeat(150 * 1024) }));
              res = await signedJson(raw).serialize((b) => b).send(raw);
              break;
            }
            case 'latin1':
              res = await req.set('Content-Type', 'application/x-www-form-urlencoded; charset=latin1').send('score=4&comment=caf%E9');
              break;
            case 'many-fields':
              res = await req.type('form').send(Array.from({ length: 1_100 }, (_, i) => `f${i}=1`).join('&'));
              break;
          }
          await sent(res);
        },
        2_300,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when a generic webhook carries any closed_at (years 1 and 9999, the calendar ends, DST nights, odd offsets), then 202 exactly when it is an instant in the calendar, else 400 invalid_payload naming closed_at, and nothing is stored',
    async () => {
      let n = 0;
      await log.check(
        'generic webhook closed_at at the edges',
        closedAt,
        async (value) => {
          n += 1;
          const raw = JSON.stringify(ticketPayload({ ticket_id: `T-closed-${n}`, closed_at: value, customer: { email: `c${n}@example.com` } }));
          const res = await sent(
            await http
              .post('/webhooks/ticket-closed')
              .set({ 'Content-Type': 'application/json', 'X-Closeloop-Timestamp': String(NOW_S), 'X-Closeloop-Signature': signBody(TEST_SECRET, String(NOW_S), Buffer.from(raw)) })
              .send(raw),
          );
          if (closedAtOk(value)) {
            expect([value, res.status]).toEqual([value, 202]);
          } else {
            expect([value, res.status, res.body.error]).toEqual([value, 400, 'invalid_payload']);
            expect(res.body.details.map((d: { path: string }) => d.path)).toEqual(['closed_at']);
          }
        },
        500,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when a helpdesk adapter gets a signed close with any closing time (Zendesk and Help Scout text, Intercom seconds), then it is a documented answer, never a 5xx, and a refused one stores nothing',
    async () => {
      const seconds = fc.oneof(
        fc.integer({ min: -1e6, max: 9e9 }),
        fc.constantFrom(0, -1, 946684799, 946684800, 7258118399, 7258118400, 253402300799, 1e13, 8.64e12, 8.64e12 + 1, 1e300, 1.5, Number.MAX_SAFE_INTEGER),
        fc.double({ noNaN: true }),
      );
      let n = 0;
      await log.check(
        'adapter closes with closing times at the edges',
        fc.record({ vendor: fc.constantFrom('zendesk', 'helpscout', 'intercom'), text: closedAt, seconds, asString: fc.boolean() }),
        async ({ vendor, text, seconds: s, asString }) => {
          n += 1;
          let payload: Record<string, unknown>;
          let headers: Record<string, string>;
          if (vendor === 'zendesk') {
            payload = { ...fixtureJson('zendesk/solved.json'), ticket_id: `Z-${n}`, closed_at: text };
          } else if (vendor === 'helpscout') {
            const base = fixtureJson('helpscout/convo-status-closed.json');
            payload = { ...base, id: 900_000 + n, number: 900_000 + n, closedAt: text };
          } else {
            const base = fixtureJson('intercom/conversation-admin-closed.json');
            const item = { ...base.data.item, id: `ic-${n}`, statistics: { ...base.data.item.statistics, last_close_at: asString ? String(s) : s } };
            payload = { ...base, created_at: asString ? String(s) : s, data: { ...base.data, item } };
          }
          const raw = Buffer.from(JSON.stringify(payload));
          if (vendor === 'zendesk') {
            const ts = NOW.toISOString().replace(/\.\d+Z$/, 'Z');
            headers = { 'X-Zendesk-Webhook-Signature': hmac('sha256', SECRETS.ZENDESK_WEBHOOK_SECRET, raw, 'base64', ts), 'X-Zendesk-Webhook-Signature-Timestamp': ts };
          } else if (vendor === 'helpscout') {
            headers = { 'X-HelpScout-Signature': hmac('sha1', SECRETS.HELPSCOUT_WEBHOOK_SECRET, raw, 'base64'), 'X-HelpScout-Event': 'convo.status' };
          } else {
            headers = { 'X-Hub-Signature': `sha1=${hmac('sha1', SECRETS.INTERCOM_CLIENT_SECRET, raw, 'hex')}` };
          }
          const res = await sent(await http.post(`/webhooks/${vendor}`).set('Content-Type', 'application/json').set(headers).serialize((b) => b).send(raw));
          // A blank closing time is an absent one (the close is now); any other must be an instant in the calendar.
          if (vendor !== 'intercom' && res.status === 202) expect([text, text.trim() === '' || closedAtOk(text)]).toEqual([text, true]);
        },
        450,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when an unsubscribe link gets any token and body, then 200, 303, 400 or 404 as documented, never a 5xx, and a refused one stores nothing',
    async () => {
      await log.check(
        'unsubscribe links: tokens × bodies',
        fc.record({
          tok: token,
          method: fc.constantFrom('GET', 'HEAD', 'POST'),
          form: fc.oneof(fc.constantFrom('', 'List-Unsubscribe=One-Click', 'action=unsubscribe', 'action=resubscribe', 'action=other', 'List-Unsubscribe=one-click', 'action[]=unsubscribe'), hostileText({ maxPieces: 3 }).map((s) => `action=${encodeURIComponent(wellFormed(s))}`)),
        }),
        async ({ tok, method, form }) => {
          const where = `/u/${tok === 'real' ? tokens.unsubscribe : segment(tok)}`;
          const res = await sent(await (method === 'GET' ? http.get(where) : method === 'HEAD' ? http.head(where) : http.post(where).type('form').send(form)));
          expect([200, 303, 400, 404]).toContain(res.status);
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
