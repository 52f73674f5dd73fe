import sqlite3 from 'sqlite3';
import request from 'supertest';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { itSqlite, sqliteFile } from '../helpers/database';

const NASTY = '<script>alert(1)</script>';

/** One survey through the real paths: webhook, delivery marked sent, and optionally a rating. */
async function rated(t: TestApp, overrides: Record<string, unknown>, rating?: { score: number; comment?: string }) {
  const res = await t.postWebhook(ticketPayload(overrides));
  expect(res.status).toBe(202);
  const surveyId = res.body.survey_id as string;
  expect(await t.services.worker.drain()).toBe(1);
  if (rating) await t.services.ratings.recordRating(await t.services.surveys.issueToken(surveyId), rating);
  return surveyId;
}

describe('report endpoints over HTTP', () => {
  let t: TestApp;
  let auth: string;
  const get = (path: string) => request(t.app).get(path).set('Authorization', auth);

  beforeEach(async () => {
    t = await bootApp({}, manualClock(new Date('2026-11-25T12:00:00Z')));
    auth = `Bearer ${t.config.reportsToken}`;
  });
  afterEach(() => t.close());

  describe('credentials', () => {
    it('when no credential is sent, then 401 with a Basic challenge and no numbers', async () => {
      const res = await request(t.app).get('/reports/agents');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic realm="Closeloop reports"/);
      expect(res.body).toMatchObject({ error: 'unauthorized' });
    });

    it.each([
      ['a wrong bearer token', 'Bearer not-the-reports-token-at-all'],
      ['the token with one character changed', () => `Bearer ${t.config.reportsToken.slice(0, -1)}x`],
      ['Basic with a wrong password', `Basic ${Buffer.from('lead:wrong').toString('base64')}`],
      ['an unknown scheme', 'Token abc'],
    ])('when %s is sent, then 401', async (_label, header) => {
      const value = typeof header === 'function' ? header() : header;
      expect((await request(t.app).get('/reports/agents').set('Authorization', value)).status).toBe(401);
    });

    it('when the token is the Basic password (any user), then the browser gets the HTML dashboard', async () => {
      const basic = `Basic ${Buffer.from(`lead:${t.config.reportsToken}`).toString('base64')}`;
      const res = await request(t.app).get('/reports/agents').set('Authorization', basic).set('Accept', 'text/html,application/xhtml+xml');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('when REPORTS_TOKEN is configured, then only it opens the reports', async () => {
      const own = await bootApp({ REPORTS_TOKEN: 'lead-token-0123456789abcdef' });
      try {
        expect((await request(own.app).get('/reports/agents').set('Authorization', 'Bearer lead-token-0123456789abcdef')).status).toBe(200);
        expect((await request(own.app).get('/reports/agents').set('Authorization', `Bearer ${t.config.reportsToken}`)).status).toBe(401);
      } finally {
        await own.close();
      }
    });
  });

  describe('bad parameters answer 400 naming them', () => {
    it.each([
      ['from=2026-02-30', 'from'],
      ['to=2026-1-5', 'to'],
      ['from=2026-11-10&to=2026-11-01', 'from'],
      ['from=2000-01-01&to=2026-11-01', 'to'],
      ['format=xml', 'format'],
      ['sort=customer_email', 'sort'],
      ['dir=up', 'dir'],
      ['team=' + 'x'.repeat(129), 'team'],
    ])('when the query is %s, then 400 invalid_query on %s', async (qs, path) => {
      const res = await get(`/reports/agents?${qs}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_query');
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    });

    it('when interval or page is bad on the other endpoints, then 400', async () => {
      expect((await get('/reports/trend?interval=year')).status).toBe(400);
      await rated(t, { agent: { id: 'a-1', name: 'Ann' } });
      expect((await get('/reports/agents/a-1?per_page=500')).status).toBe(400);
      expect((await get('/reports/agents/a-1?page=0')).status).toBe(400);
    });
  });

  it('when no period is given, then the last 30 days up to today are reported', async () => {
    const res = await get('/reports/agents');
    expect([res.body.from, res.body.to, res.body.tz]).toEqual(['2026-10-27', '2026-11-25', 'UTC']);
  });

  it('when the agent is unknown, then the drill-down answers 404', async () => {
    expect((await get('/reports/agents/nobody')).status).toBe(404);
  });

  describe('CSV', () => {
    it('when names hold commas, quotes and formula starts, then cells are quoted per RFC 4180 and formulas defused', async () => {
      await rated(t, { agent: { id: '=HYPERLINK("x")', name: 'Lovelace, "Ada"' }, team: '+billing' }, { score: 5 });
      await rated(t, { agent: { id: 'a-2', name: '@SUM(A1:A9)' }, team: '-ops' }, { score: 2 });
      const res = await get('/reports/agents?from=2026-11-20&to=2026-11-20&format=csv');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toBe('attachment; filename=agents_2026-11-20_2026-11-20.csv');
      const lines = res.text.split('\r\n');
      expect(lines[0]).toBe(
        'agent_id,agent_name,team,surveys_sent,suppressed,failed,responses,response_rate,csat,csat_ci_low,csat_ci_high,avg_score,score_1,score_2,score_3,score_4,score_5,comments,low_sample,cancelled,' +
          'suppressed_excluded_tag,suppressed_no_agent,suppressed_customer_is_agent,suppressed_internal_domain,suppressed_opted_out,suppressed_throttled,suppressed_sampled_out,scanner_discarded,' +
          'low_ratings,followed_up,followed_up_pct,median_hours_to_first_action,recovered,recovered_pct,' +
          'reminders_sent,responses_to_first_email,first_email_response_rate,responses_after_reminder,reminder_response_rate',
      );
      expect(res.text).toContain(`"'=HYPERLINK(""x"")","Lovelace, ""Ada""",'+billing,1,0,0,1,100,100,20.65,100,5,0,0,0,0,1,0,true,0,0,0,0,0,0,0,0,0,0,0,,,0,,0,1,100,0,\r\n`);
      expect(res.text).toContain("a-2,'@SUM(A1:A9),'-ops,1,0,0,1,100,0,0,79.35,2,0,1,0,0,0,0,true,0,0,0,0,0,0,0,0,0,1,0,0,,0,0,0,1,100,0,\r\n" /* the 2 opened a follow-up */);
      expect(res.text.endsWith('\r\n')).toBe(true);
    });

    it('when the trend is asked as CSV, then one row per bucket with the same columns', async () => {
      await rated(t, {}, { score: 4 });
      const res = await get('/reports/trend?from=2026-11-16&to=2026-11-29&interval=week&format=csv');
      const lines = res.text.trim().split('\r\n');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toBe('2026-11-16,2026-11-22,1,0,0,1,100,100,20.65,100,4,0,0,0,1,0,0,true,0,0,0,0,0,0,0,0');
      expect(lines[2]).toBe('2026-11-23,2026-11-29,0,0,0,0,,,,,,0,0,0,0,0,0,true,0,0,0,0,0,0,0,0');
    });
  });

  describe('HTML escapes every user-supplied string', () => {
    it('when agent names, teams, comments and subjects carry markup, then the dashboard, drill-down and trend show it as text', async () => {
      await rated(
        t,
        { agent: { id: 'a-x', name: `Ada ${NASTY}` }, team: `<b>team</b>`, subject: `Refund <img src=x onerror=alert(2)>` },
        { score: 1, comment: `Slow ${NASTY} "quoted"` },
      );
      const html = { Accept: 'text/html' };
      const dashboard = await get('/reports/agents?from=2026-11-01&to=2026-11-30').set(html);
      const drill = await get('/reports/agents/a-x?from=2026-11-01&to=2026-11-30').set(html);
      const trend = await get('/reports/trend?from=2026-11-01&to=2026-11-30&agent=a-x&format=html');
      for (const page of [dashboard, drill, trend]) {
        expect(page.status).toBe(200);
        expect(page.text).not.toMatch(/<script>alert|<img|<b>team/);
      }
      expect(dashboard.text).toContain('Ada &lt;script&gt;alert(1)&lt;/script&gt;');
      expect(dashboard.text).toContain('&lt;b&gt;team&lt;/b&gt;');
      expect(drill.text).toContain('Slow &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;');
      expect(drill.text).toContain('Refund &lt;img src&#x3D;x onerror&#x3D;alert(2)&gt;');
    });

    it('when the dashboard renders, then it has sortable headers, the CSV link of the same view, an interval bar and a trend chart', async () => {
      for (let i = 0; i < 3; i += 1) await rated(t, { agent: { id: 'a-1', name: 'Ann' } }, { score: 5 });
      const res = await get('/reports/agents?from=2026-11-01&to=2026-11-30&team=billing&format=html');
      expect(res.text).toContain('href="/reports/agents?from&#x3D;2026-11-01&amp;to&#x3D;2026-11-30&amp;team&#x3D;billing&amp;sort&#x3D;csat_ci_low&amp;dir&#x3D;desc&amp;format&#x3D;csv"');
      expect(res.text).toContain('sort&#x3D;csat_ci_low&amp;dir&#x3D;asc'); // the active column toggles
      expect(res.text).toContain('aria-label="95% interval 43.85% to 100%, CSAT 100%"');
      expect(res.text).toContain('<polyline class="line"');
      expect(res.text).toContain('low sample');
      expect(res.text).toContain('href="/reports/agents/a-1?from&#x3D;2026-11-01&amp;to&#x3D;2026-11-30&amp;team&#x3D;billing"');
    });
  });

  it('when an agent has more ratings than a page, then the drill-down pages through them newest first', async () => {
    const clock = t.services.clock as ReturnType<typeof manualClock>;
    for (let i = 1; i <= 5; i += 1) {
      await rated(t, { agent: { id: 'a-1', name: 'Ann' }, ticket_id: `T-page-${i}` }, { score: i, comment: `c${i}` });
      clock.advance(60_000);
    }
    const first = await get('/reports/agents/a-1?from=2026-11-20&to=2026-11-20&per_page=2');
    expect(first.body.ratings).toMatchObject({ page: 1, per_page: 2, total: 5 });
    expect(first.body.ratings.items.map((r: { ticket_id: string }) => r.ticket_id)).toEqual(['T-page-5', 'T-page-4']);
    const last = await get('/reports/agents/a-1?from=2026-11-20&to=2026-11-20&per_page=2&page=3');
    expect(last.body.ratings.items.map((r: { comment: string }) => r.comment)).toEqual(['c1']);
    expect(first.body.agent).toMatchObject({ agent_id: 'a-1', agent_name: 'Ann', responses: 5, comments: 5, avg_score: 3 });
  });

  itSqlite('when the database connection cannot be had, then the report answers 503 with nothing partial, and works again once it is free', async () => {
    await rated(t, {}, { score: 5 });
    // A stuck writer holds the only connection; shorten the wait for it from 10 s to keep the test fast.
    (t.db.client.pool as { acquireTimeoutMillis: number }).acquireTimeoutMillis = 300;
    const stuck = await t.db.transaction();
    try {
      const json = await get('/reports/agents?from=2026-11-01&to=2026-11-30');
      expect([json.status, json.body, json.headers['retry-after']]).toEqual([503, { error: 'unavailable' }, '30']);
      const html = await get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Accept', 'text/html');
      expect(html.status).toBe(503);
      expect(html.text).not.toContain('<table');
      const csv = await get('/reports/agents?from=2026-11-01&to=2026-11-30&format=csv');
      expect(csv.status).toBe(503);
      expect(csv.text).not.toContain('agent_id');
    } finally {
      await stuck.rollback();
    }
    const again = await get('/reports/agents?from=2026-11-01&to=2026-11-30');
    expect([again.status, again.body.overall.responses]).toEqual([200, 1]);
  });

  itSqlite("when storage breaks between the report's queries, then the whole report fails and nothing partial is sent", async () => {
    await rated(t, { agent: { id: 'a-1', name: 'Ann' } }, { score: 5 });
    const other = new sqlite3.Database(sqliteFile(t.config));
    await new Promise<void>((resolve, reject) => other.exec('DROP TABLE agents', (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve) => other.close(() => resolve()));
    const json = await get('/reports/agents?from=2026-11-01&to=2026-11-30'); // counters read, then agent names fail
    expect(json.status).toBe(500);
    expect(Object.keys(json.body).sort()).toEqual(['error', 'request_id']);
    const html = await get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Accept', 'text/html');
    expect(html.status).toBe(500);
    expect(html.text).not.toMatch(/<table|Ann/);
  });
});
