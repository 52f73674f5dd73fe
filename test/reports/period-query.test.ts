import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';

/**
 * The period of every report (agents, drill-down, variants, trend) for every combination of a
 * missing, empty, valid, edge and invalid `from` and `to`: 200 with the documented period, or
 * 400 invalid_query naming exactly the fields at fault, never a 5xx. The oracle is written out
 * here, apart from src/reports/query.ts.
 */

const TODAY = '2026-11-25';
const day = (s: string, n: number) => new Date(Date.parse(`${s}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** Each value, and whether the README's rule accepts it as a day (undefined: absent). */
const VALUES: Array<[label: string, value: string | undefined, ok: boolean | undefined]> = [
  ['missing', undefined, undefined],
  ['empty', '', undefined],
  ['a DST start day', '2026-03-29', true],
  ['a DST end day', '2026-10-25', true],
  ['today', TODAY, true],
  ['the first day', '2000-01-01', true],
  ['the last day', '2199-12-31', true],
  ['3,700 days before today', day(TODAY, -3_699), true],
  ['3,701 days before today', day(TODAY, -3_700), true],
  ['the day before the first', '1999-12-31', false],
  ['the day after the last', '2200-01-01', false],
  ['year 1', '0001-01-01', false],
  ['year 9999', '9999-12-31', false],
  ['no real day', '2026-02-30', false],
  ['not a day', '2026-1-5', false],
];

type Expected = { status: 200; from: string; to: string } | { status: 400; paths: string[] };

function expected(from: (typeof VALUES)[number], to: (typeof VALUES)[number]): Expected {
  const paths = [from[2] === false && 'from', to[2] === false && 'to'].filter(Boolean) as string[];
  if (paths.length) return { status: 400, paths };
  const t = to[2] ? (to[1] as string) : TODAY;
  const f = from[2] ? (from[1] as string) : [day(t, -29), '2000-01-01'].sort().reverse()[0];
  if (f > t) return { status: 400, paths: ['from'] };
  if ((Date.parse(t) - Date.parse(f)) / 86_400_000 + 1 > 3_700) return { status: 400, paths: ['to'] };
  return { status: 200, from: f, to: t };
}

const ENDPOINTS = ['/reports/agents?', '/reports/agents/a-7?', '/reports/variants?question=handling&', '/reports/trend?interval=day&'];

describe('report periods: every combination of from and to', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${t.config.reportsToken}`);

  beforeAll(async () => {
    t = await bootApp({ REPORT_TZ: 'Europe/Berlin' }, manualClock(new Date(`${TODAY}T12:00:00Z`)));
    for (const closed of ['2026-03-29T01:30:00Z', '2026-10-25T00:30:00Z', '2026-11-25T10:00:00Z']) {
      expect((await t.postWebhook(ticketPayload({ closed_at: closed }))).status).toBe(202);
    }
    await t.services.worker.drain();
  });
  afterAll(() => t.close());

  const query = (from: string | undefined, to: string | undefined) =>
    [from !== undefined && `from=${from}`, to !== undefined && `to=${to}`].filter(Boolean).join('&');

  it.each(ENDPOINTS)('when %s gets each pair, then 200 with the documented period or 400 naming exactly the fields at fault', async (endpoint) => {
    const wrong: unknown[] = [];
    for (const from of VALUES) {
      for (const to of VALUES) {
        const res = await get(`${endpoint}${query(from[1], to[1])}&format=json`);
        const want = expected(from, to);
        const got =
          res.status === 200
            ? { status: 200, from: res.body.from, to: res.body.to }
            : { status: res.status, paths: res.body.details?.map((d: { path: string }) => d.path).sort() };
        if (res.status === 400) expect(res.body.error).toBe('invalid_query');
        if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push({ from: from[0], to: to[0], got, want });
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(ENDPOINTS.flatMap((e) => ['json', 'csv', 'html'].map((format) => [e, format])))(
    'when %s is asked up to 9999-12-31 without from, as %s, then 400 invalid_query on to, not 500',
    async (endpoint, format) => {
      const res = await get(`${endpoint}to=9999-12-31&format=${format}`);
      expect(res.status).toBe(400);
      if (format === 'html') expect(res.text).toContain('Check the report parameters.');
      else expect(res.body).toMatchObject({ error: 'invalid_query', details: [{ path: 'to', message: 'must be between 2000-01-01 and 2199-12-31' }] });
    },
  );

  it('when the period runs to the last supported day, then every report covers it (month, week and day buckets end in 2199)', async () => {
    for (const endpoint of ENDPOINTS) {
      for (const interval of ['day', 'week', 'month']) {
        const res = await get(`${endpoint}from=2199-11-15&to=2199-12-31&interval=${interval}&format=json`);
        expect([endpoint, interval, res.status]).toEqual([endpoint, interval, 200]);
      }
    }
    const trend = await get('/reports/trend?from=2199-12-01&to=2199-12-31&interval=month&format=json');
    expect(trend.body.buckets.map((b: { start: string; end: string }) => [b.start, b.end])).toEqual([['2199-12-01', '2199-12-31']]);
  });

  it('when to is near the first supported day and from is missing, then the default period starts at 2000-01-01', async () => {
    const res = await get('/reports/agents?to=2000-01-10&format=json');
    expect([res.status, res.body.from, res.body.to]).toEqual([200, '2000-01-01', '2000-01-10']);
  });

  it('when the DST days are reported in Europe/Berlin, then each counts its own survey', async () => {
    const res = await get('/reports/trend?from=2026-03-29&to=2026-03-29&interval=day&format=json');
    expect(res.body.buckets.map((b: { surveys_sent: number }) => b.surveys_sent)).toEqual([1]);
    const end = await get('/reports/trend?from=2026-10-25&to=2026-10-25&interval=day&format=json');
    expect(end.body.buckets.map((b: { surveys_sent: number }) => b.surveys_sent)).toEqual([1]);
  });

  it('when no interval is given, then the trend has buckets that fit the window: days up to 31 days, weeks up to 217, months beyond; a given one is kept', async () => {
    const shape = async (query: string) => {
      const res = await get(`/reports/trend?${query}&format=json`);
      return [res.body.interval, res.body.buckets.length];
    };
    expect(await shape('from=2026-10-27&to=2026-11-25')).toEqual(['day', 30]); // the default 30 days: one bar a day, not five weeks
    expect(await shape('from=2026-10-26&to=2026-11-25')).toEqual(['day', 31]);
    expect(await shape('from=2026-10-25&to=2026-11-25')).toEqual(['week', 6]); // 32 days, Sunday to Wednesday: six ISO weeks
    expect(await shape('from=2026-04-23&to=2026-11-25')).toEqual(['week', 32]); // 217 days from a Thursday
    expect(await shape('from=2026-04-22&to=2026-11-25')).toEqual(['month', 8]);
    expect(await shape('from=2023-11-26&to=2026-11-25')).toEqual(['month', 37]); // three years
    expect(await shape('from=2026-10-27&to=2026-11-25&interval=week')).toEqual(['week', 5]);
    expect((await get('/reports/agents?from=2026-10-27&to=2026-11-25&format=json')).status).toBe(200);
    const agentPage = await get('/reports/agents/a-7?from=2026-10-27&to=2026-11-25&format=json');
    expect([agentPage.status, agentPage.body.trend?.length]).toEqual([200, 30]);
  });
});
