import { SUPPRESSION_REASONS } from '../../src/surveys/eligibility';
import request from 'supertest';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import { createSeeder, makeRng, ONE_TEAM_AGENTS, seedAccuracy, type SeededSurvey } from './seed';

/**
 * The accuracy test: thousands of seeded surveys go through the real code paths, and every report
 * number must equal what an independent implementation of the report contract computes from the
 * seed's own record of each survey (never read back from the database).
 */

const SEED = 20260329;
const COUNT = 2000;
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York'] as const;
const MIN_SAMPLE: Record<(typeof ZONES)[number], number> = { UTC: 10, 'Europe/Berlin': 10, 'America/New_York': 25 };
const Z95 = 1.959963984540054;

// ---- The contract, implemented again from its definitions -------------------------------------

const dayFormats = new Map<string, Intl.DateTimeFormat>();
const dayCache = new Map<string, string>();
/** The local calendar day of an instant, straight from Intl (memoised: the checks ask often). */
function dayIn(instant: Date, tz: string): string {
  const key = `${tz} ${instant.getTime()}`;
  const known = dayCache.get(key);
  if (known) return known;
  let f = dayFormats.get(tz);
  if (!f) dayFormats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  const day = `${p.year}-${p.month}-${p.day}`;
  dayCache.set(key, day);
  return day;
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

type Filter = { from: string; to: string; team?: string; brand?: string };

const inScope = (s: SeededSurvey, f: Filter, tz: string) => {
  const day = dayIn(s.closedAt, tz);
  return day >= f.from && day <= f.to && (f.team === undefined || s.team === f.team) && (f.brand === undefined || s.brand === f.brand);
};

const pct = (fraction: number) => Math.round(fraction * 10_000) / 100;

function summary(surveys: SeededSurvey[], minSample: number) {
  const sent = surveys.filter((s) => s.status === 'sent');
  const responses = sent.filter((s) => s.score !== null);
  const n = responses.length;
  const dist = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } as Record<'1' | '2' | '3' | '4' | '5', number>;
  for (const s of responses) dist[String(s.score) as '1']++;
  const happy = dist['4'] + dist['5'];
  const p = happy / n;
  const spread = (Z95 * Math.sqrt((p * (1 - p)) / n + (Z95 * Z95) / (4 * n * n))) / (1 + (Z95 * Z95) / n);
  const centre = (p + (Z95 * Z95) / (2 * n)) / (1 + (Z95 * Z95) / n);
  return {
    surveys_sent: sent.length,
    suppressed: surveys.filter((s) => s.status === 'suppressed').length,
    failed: surveys.filter((s) => s.status === 'failed').length,
    cancelled: surveys.filter((s) => s.status === 'cancelled').length,
    suppressed_by_reason: Object.fromEntries(
      SUPPRESSION_REASONS.map((r) => [r, surveys.filter((s) => s.status === 'suppressed' && s.reason === r).length]),
    ),
    responses: n,
    response_rate: sent.length ? pct(n / sent.length) : null,
    csat: n ? pct(p) : null,
    csat_ci_low: n ? pct(Math.max(0, centre - spread)) : null,
    csat_ci_high: n ? pct(Math.min(1, centre + spread)) : null,
    avg_score: n ? Math.round((responses.reduce((sum, s) => sum + s.score!, 0) / n) * 100) / 100 : null,
    distribution: dist,
    comments: responses.filter((s) => s.comment !== null && s.comment !== '').length,
    low_sample: n < minSample,
  };
}
type Summary = ReturnType<typeof summary>;

/** The team on the agent's latest day in the period; ties go to the larger team string. */
function latestTeam(surveys: SeededSurvey[], tz: string): string | null {
  let best: { day: string; team: string } | undefined;
  for (const s of surveys) {
    const cur = { day: dayIn(s.closedAt, tz), team: s.team ?? '' };
    if (!best || cur.day > best.day || (cur.day === best.day && cur.team > best.team)) best = cur;
  }
  return best?.team || null;
}

/** Agent names come from the agent's most recently closed ticket of all, not only the period's. */
function nameOf(all: SeededSurvey[], agentId: string | null): string | null {
  if (agentId === null) return null;
  const own = all.filter((s) => s.agentId === agentId).sort((a, b) => b.closedAt.getTime() - a.closedAt.getTime());
  return own[0]?.agentName ?? null;
}

/** The follow-up figures of these surveys, recomputed from the seed's own record (README "Reports"). */
function followups(surveys: SeededSurvey[]) {
  const opened = surveys.filter((s) => s.followup);
  const acted = opened.filter((s) => s.followup!.firstActionAt);
  const hours = acted.map((s) => (s.followup!.firstActionAt!.getTime() - s.followup!.openedAt.getTime()) / 3_600_000).sort((a, b) => a - b);
  const mid = Math.floor(hours.length / 2);
  const median = hours.length === 0 ? null : hours.length % 2 ? hours[mid] : (hours[mid - 1] + hours[mid]) / 2;
  const recovered = opened.filter((s) => s.followup!.recovered).length;
  const pct = (k: number) => (opened.length ? Math.round((k / opened.length) * 10_000) / 100 : null);
  return {
    low_ratings: opened.length,
    followed_up: acted.length,
    followed_up_pct: pct(acted.length),
    median_hours_to_first_action: median === null ? null : Math.round(median * 100) / 100,
    recovered,
    recovered_pct: pct(recovered),
  };
}

/** The reminder figures (README "Reports"): responses after the reminder are those first given after it went out. */
function reminders(counted: SeededSurvey[]) {
  const sent = counted.filter((s) => s.status === 'sent').length;
  const responses = counted.filter((s) => s.status === 'sent' && s.score !== null).length;
  const reminded = counted.filter((s) => s.remindedAt);
  const after = reminded.filter((s) => s.score !== null && s.firstRatedAt! > s.remindedAt!).length;
  const pct = (k: number, of: number) => (of ? Math.round((k / of) * 10_000) / 100 : null);
  return {
    reminders_sent: reminded.length,
    responses_to_first_email: responses - after,
    first_email_response_rate: pct(responses - after, sent),
    responses_after_reminder: after,
    reminder_response_rate: pct(after, reminded.length),
  };
}

function agentRow(all: SeededSurvey[], scoped: SeededSurvey[], agentId: string | null, tz: string, minSample: number) {
  const own = scoped.filter((s) => s.agentId === agentId);
  const counted = own.filter((s) => s.status !== 'scheduled');
  // Team is pinned down for agents who stay in one team; for the others (and the row without an
  // agent) it must be one of their teams in the period. The exact rule has its own test below.
  const team: unknown =
    agentId !== null && ONE_TEAM_AGENTS.has(agentId) ? latestTeam(counted, tz) : expect.toBeOneOf([...new Set(counted.map((s) => s.team))]);
  return { agent_id: agentId, agent_name: nameOf(all, agentId), team, ...summary(counted, minSample), scanner_discarded: counted.filter((s) => s.scanned).length, ...followups(own), ...reminders(counted) };
}

function byDefaultOrder(a: { agent_id: string | null } & Summary, b: { agent_id: string | null } & Summary) {
  if (a.csat_ci_low !== b.csat_ci_low) {
    if (a.csat_ci_low === null) return 1;
    if (b.csat_ci_low === null) return -1;
    return b.csat_ci_low - a.csat_ci_low;
  }
  if (a.responses !== b.responses) return b.responses - a.responses;
  if (a.agent_id === null) return 1;
  if (b.agent_id === null) return -1;
  return a.agent_id < b.agent_id ? -1 : 1;
}

function expectedAgents(all: SeededSurvey[], f: Filter, tz: string, minSample: number) {
  const scoped = all.filter((s) => inScope(s, f, tz));
  const counted = scoped.filter((s) => s.status !== 'scheduled'); // scheduled surveys count nowhere
  const ids = [...new Set(counted.map((s) => s.agentId))];
  return {
    from: f.from,
    to: f.to,
    tz,
    generated_at: expect.any(String),
    overall: { ...summary(counted, minSample), scanner_discarded: counted.filter((s) => s.scanned).length, ...followups(scoped), ...reminders(counted) },
    agents: ids.map((id) => agentRow(all, scoped, id, tz, minSample)).sort(byDefaultOrder),
  };
}

/** Every day/week (Monday)/month overlapping [from, to], clipped to it, with its own summary. */
function expectedBuckets(all: SeededSurvey[], f: Filter, tz: string, minSample: number, interval: 'day' | 'week' | 'month') {
  const keyOf = (day: string) => {
    if (interval === 'day') return day;
    if (interval === 'month') return day.slice(0, 7);
    let d = day;
    while (new Date(`${d}T00:00:00Z`).getUTCDay() !== 1) d = new Date(Date.parse(`${d}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    return d;
  };
  const spans: Array<{ key: string; start: string; end: string }> = [];
  for (let d = f.from; d <= f.to; d = nextDay(d)) {
    const last = spans[spans.length - 1];
    if (last && last.key === keyOf(d)) last.end = d;
    else spans.push({ key: keyOf(d), start: d, end: d });
  }
  const scoped = all.filter((s) => inScope(s, f, tz) && s.status !== 'scheduled');
  return spans.map(({ start, end }) => ({ start, end, ...summary(scoped.filter((s) => inScope(s, { from: start, to: end }, tz)), minSample) }));
}

function expectedRatings(all: SeededSurvey[], f: Filter, tz: string, agentId: string) {
  return all
    .filter((s) => s.agentId === agentId && s.status === 'sent' && s.score !== null && inScope(s, f, tz))
    .sort((a, b) => b.ratedAt!.getTime() - a.ratedAt!.getTime())
    .map((s) => ({
      survey_id: s.id,
      ticket_id: s.ticketId,
      agent_id: s.agentId,
      agent_name: s.agentName,
      subject: s.subject,
      team: s.team,
      brand: s.brand,
      closed_at: s.closedAt.toISOString(),
      rated_at: s.ratedAt!.toISOString(),
      score: s.score,
      comment: s.comment,
      credited_by: 'payload', // the seed names each survey's agent itself, like the generic contract
    }));
}

expect.extend({
  toBeOneOf(received: unknown, options: unknown[]) {
    const pass = options.some((o) => this.equals(received, o));
    return { pass, message: () => `expected ${this.utils.printReceived(received)} to be one of ${this.utils.printExpected(options)}` };
  },
});
declare global {
  namespace jest {
    interface Expect {
      toBeOneOf(options: unknown[]): unknown;
    }
    interface Matchers<R> {
      toBeOneOf(options: unknown[]): R;
    }
  }
}

// ---- The service, seeded once per time zone -----------------------------------------------------

type Seeded = { t: TestApp; surveys: SeededSurvey[] };
const seeded = new Map<string, Seeded>();

beforeAll(async () => {
  // The three zones seed in parallel: each app has its own SQLite file and connection.
  await Promise.all(
    ZONES.map(async (tz) => {
      const clock = manualClock(new Date('2026-06-01T00:00:00Z'));
      const t = await bootApp({ REPORT_TZ: tz, MIN_SAMPLE: String(MIN_SAMPLE[tz]), TOKEN_TTL_DAYS: '365', RATING_CHANGE_DAYS: '365' }, clock);
      seeded.set(tz, { t, surveys: await seedAccuracy(t, clock, SEED, COUNT) });
    }),
  );
}, 600_000); // a safety net: 6,000 surveys take about half a minute, many times that on a busy machine

afterAll(async () => {
  for (const { t } of seeded.values()) await t.close();
});

const get = (t: TestApp, path: string, query: Record<string, string | number | undefined>) =>
  request(t.app)
    .get(path)
    .query(Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)))
    .set('Authorization', `Bearer ${t.config.reportsToken}`)
    .expect('Content-Type', /json/)
    .expect(200);

const FILTERS: Array<[string, Filter]> = [
  ['no filter, the whole seed', { from: '2026-01-01', to: '2026-06-30' }],
  ['no filter, part months at both ends', { from: '2026-01-15', to: '2026-04-10' }],
  ['the whole month of March', { from: '2026-03-01', to: '2026-03-31' }],
  ['team tech', { from: '2026-01-01', to: '2026-06-30', team: 'tech' }],
  ['brand globex', { from: '2026-01-01', to: '2026-06-30', brand: 'globex' }],
  ['team billing and brand acme', { from: '2026-01-01', to: '2026-06-30', team: 'billing', brand: 'acme' }],
  ['New York DST day to Berlin DST day', { from: '2026-03-08', to: '2026-03-29' }],
  ['only the Berlin DST day', { from: '2026-03-29', to: '2026-03-29' }],
  ['a week ending on the New York DST day, brand acme', { from: '2026-03-02', to: '2026-03-08', brand: 'acme' }],
  ['from the Berlin DST day, team returns', { from: '2026-03-29', to: '2026-04-12', team: 'returns' }],
];

describe.each(ZONES)('reports equal a recompute from the seed (REPORT_TZ=%s)', (tz) => {
  const s = () => seeded.get(tz)!;
  const minSample = MIN_SAMPLE[tz];

  it('when the seed has run, then it covers every status, changed ratings and both DST days', () => {
    const all = s().surveys;
    expect(all).toHaveLength(COUNT);
    for (const status of ['sent', 'failed', 'scheduled', 'suppressed']) expect(all.filter((x) => x.status === status).length).toBeGreaterThan(20);
    const sent = all.filter((x) => x.status === 'sent');
    expect(sent.filter((x) => x.score !== null).length / sent.length).toBeGreaterThan(0.3);
    expect(sent.filter((x) => x.answers >= 2).length).toBeGreaterThan(50);
    expect(sent.filter((x) => x.comment !== null).length).toBeGreaterThan(50);
    expect(all.filter((x) => x.agentId === null).length).toBeGreaterThan(50);
    expect(all.filter((x) => x.scanned).length).toBeGreaterThan(10); // scanner sweeps, some rated afterwards by the customer
    expect(all.filter((x) => x.scanned && x.score !== null).length).toBeGreaterThan(0);
    // Follow-ups of every kind: opened, acted on by a lead, recovered, and still waiting.
    // Reminders of every kind: answered after the reminder, and not answered.
    const reminded = all.filter((x) => x.remindedAt);
    expect(reminded.filter((x) => x.score !== null).length).toBeGreaterThan(5);
    expect(reminded.filter((x) => x.score === null).length).toBeGreaterThan(5);
    const followed = all.filter((x) => x.followup);
    expect(followed.filter((x) => x.followup!.firstActionAt).length).toBeGreaterThan(5);
    expect(followed.filter((x) => x.followup!.recovered).length).toBeGreaterThan(5);
    expect(followed.filter((x) => !x.followup!.firstActionAt && !x.followup!.recovered).length).toBeGreaterThan(5);
    for (const day of ['2026-03-08', '2026-03-29']) expect(all.filter((x) => dayIn(x.closedAt, tz) === day).length).toBeGreaterThan(20);
  });

  it.each(FILTERS)('when GET /reports/agents is asked for %s, then overall and every agent row equal the recompute', async (_name, f) => {
    const res = await get(s().t, '/reports/agents', { ...f, format: 'json' });
    const expected = expectedAgents(s().surveys, f, tz, minSample);
    expect(expected.overall.responses).toBeGreaterThan(0);
    expect(res.body).toEqual(expected);
  });

  it.each(FILTERS)('when GET /reports/trend is asked for %s by week and month, then each bucket equals the recompute and they add up to the overall', async (_name, f) => {
    const { overall } = expectedAgents(s().surveys, f, tz, minSample);
    for (const interval of ['week', 'month'] as const) {
      const res = await get(s().t, '/reports/trend', { ...f, interval, format: 'json' });
      expect(res.body).toMatchObject({ from: f.from, to: f.to, tz, interval, agent_id: null });
      expect(res.body.buckets).toEqual(expectedBuckets(s().surveys, f, tz, minSample, interval));
      const total = (key: 'surveys_sent' | 'suppressed' | 'failed' | 'responses' | 'comments') =>
        res.body.buckets.reduce((sum: number, b: Summary) => sum + b[key], 0);
      for (const key of ['surveys_sent', 'suppressed', 'failed', 'responses', 'comments'] as const) expect([interval, key, total(key)]).toEqual([interval, key, overall[key]]);
      for (const score of ['1', '2', '3', '4', '5'] as const) {
        expect(res.body.buckets.reduce((sum: number, b: Summary) => sum + b.distribution[score], 0)).toBe(overall.distribution[score]);
      }
    }
  });

  it('when GET /reports/trend is asked by day over the DST month, then every day equals the recompute', async () => {
    const f = { from: '2026-03-01', to: '2026-03-31' };
    const res = await get(s().t, '/reports/trend', { ...f, interval: 'day', format: 'json' });
    expect(res.body.buckets).toHaveLength(31);
    expect(res.body.buckets).toEqual(expectedBuckets(s().surveys, f, tz, minSample, 'day'));
  });

  it.each([
    ['the whole seed', { from: '2026-01-01', to: '2026-06-30' }],
    ['the DST weeks, brand globex', { from: '2026-03-08', to: '2026-03-29', brand: 'globex' }],
  ] as Array<[string, Filter]>)('when each agent is drilled into over %s, then the row, weekly trend and ratings equal the recompute', async (_name, f) => {
    const { surveys, t } = s();
    const expected = expectedAgents(surveys, f, tz, minSample);
    const agents = expected.agents.filter((a) => a.agent_id !== null);
    expect(agents.length).toBeGreaterThanOrEqual(10);
    for (const row of agents) {
      const id = row.agent_id!;
      const res = await get(t, `/reports/agents/${id}`, { ...f, per_page: 200, interval: 'week', format: 'json' });
      expect(res.body.agent).toEqual(row);
      expect(res.body.trend).toEqual(expectedBuckets(surveys.filter((x) => x.agentId === id), f, tz, minSample, 'week'));
      expect([id, res.body.ratings.total]).toEqual([id, row.responses]);
      expect(res.body.ratings.items).toEqual(expectedRatings(surveys, f, tz, id));
    }
  });

  it('when the drill-down is paged, then page 2 holds the next ratings, newest rated first', async () => {
    const { surveys, t } = s();
    const f = { from: '2026-01-01', to: '2026-06-30' };
    const all = expectedRatings(surveys, f, tz, 'a-08');
    expect(all.length).toBeGreaterThan(14);
    const res = await get(t, '/reports/agents/a-08', { ...f, page: 2, per_page: 7, format: 'json' });
    expect(res.body.ratings).toEqual({ page: 2, per_page: 7, total: all.length, items: all.slice(7, 14) });
  });
});

describe("an agent's team is the team on the latest day of the period", () => {
  let t: TestApp;
  beforeAll(async () => {
    const clock = manualClock(new Date('2026-06-01T00:00:00Z'));
    t = await bootApp({}, clock);
    const seeder = createSeeder(t, clock, makeRng(1));
    const close = async (ticketId: string, agentId: string, team: string, closedAt: string) => {
      const s = await seeder.schedule({
        source: 'generic',
        ticketId,
        closedAt: new Date(closedAt),
        customer: { email: `${ticketId}@example.com` },
        agent: { id: agentId, name: agentId },
        team,
        tags: [],
      });
      await seeder.send(s);
    };
    await close('T-1', 'a-08', 'tech', '2026-04-20T12:00:00Z');
    await close('T-2', 'a-08', 'tech', '2026-05-05T12:00:00Z');
    await close('T-3', 'a-08', 'returns', '2026-05-20T12:00:00Z'); // moved to returns: the latest day
    await close('T-4', 'a-12', 'billing', '2026-05-03T12:00:00Z');
    await close('T-5', 'a-12', 'returns', '2026-05-20T09:00:00Z');
    await close('T-6', 'a-12', 'billing', '2026-05-20T15:00:00Z'); // both teams on the latest day: the larger string wins, not the later ticket
  });
  afterAll(() => t.close());

  const teams = async (from: string, to: string) => {
    const res = await get(t, '/reports/agents', { from, to, format: 'json' });
    return Object.fromEntries(res.body.agents.map((a: { agent_id: string; team: string }) => [a.agent_id, a.team]));
  };

  it.each([
    ['a period of part months', '2026-04-15', '2026-05-30'],
    ['the whole month of May', '2026-05-01', '2026-05-31'],
    ['whole months April and May', '2026-04-01', '2026-05-31'],
  ])('when the agents table covers %s, then a moved agent shows the later team and a same-day tie the larger one', async (_name, from, to) => {
    expect(await teams(from, to)).toEqual({ 'a-08': 'returns', 'a-12': 'returns' });
  });

  it('when the period ends before the move, then the earlier team is shown', async () => {
    expect(await teams('2026-04-01', '2026-05-19')).toEqual({ 'a-08': 'tech', 'a-12': 'billing' });
  });
});
