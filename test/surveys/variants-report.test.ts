import request from 'supertest';
import { chooseVariant } from '../../src/surveys/questions';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { bearer, tempDir } from './fixtures';

const en = (question: string) => `{ subject: S, intro: I, question: ${question}, labels: { 1: a, 2: b, 3: c, 4: d, 5: e }, thanks: T }`;
const FILE = [
  'default: handling',
  'questions:',
  '  - id: handling',
  `    locales: { en: ${en('How satisfied were you?')} }`,
  '    variants:',
  '      - { id: a, weight: 1 }',
  '      - { id: b, weight: 1, locales: { en: { question: Happy? } } }',
  '      - { id: c, weight: 1, locales: { en: { question: Any good? } } }',
  '  - id: other',
  `    locales: { en: ${en('Other?')} }`,
  'rules:',
  '  - { team: sales, question: other }',
  '',
].join('\n');
const SPLIT = [{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }, { id: 'c', weight: 1 }];

/**
 * What each variant gets: 50 delivered emails each, and these current scores (the rest unrated).
 *   a: 40 responses, 32 satisfied (80 %)   b: 40 responses, 18 satisfied (45 %)   c: 30 responses, 22 satisfied (73.33 %)
 */
const PLAN: Record<string, { sent: number; scores: number[] }> = {
  a: { sent: 50, scores: [...Array(20).fill(5), ...Array(12).fill(4), ...Array(5).fill(3), ...Array(3).fill(1)] },
  b: { sent: 50, scores: [...Array(10).fill(5), ...Array(8).fill(4), ...Array(12).fill(2), ...Array(10).fill(3)] },
  c: { sent: 50, scores: [...Array(22).fill(4), ...Array(8).fill(1)] },
};
const OTHER = { sent: 10, scores: [5, 5, 4, 2, 1] };
const PERIOD = 'from=2026-11-01&to=2026-11-30';

// ---- An independent computation of what the report should say ----

const Z975 = 1.959963984540054;
const round = (x: number, places: number) => Math.round(x * 10 ** places) / 10 ** places;

/** Standard normal CDF by Simpson's rule over the density (no erf approximation shared with src). */
function phi(z: number): number {
  const n = 20_000;
  const a = 0;
  const b = Math.abs(z);
  const h = (b - a) / n;
  const f = (x: number) => Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  let sum = f(a) + f(b);
  for (let i = 1; i < n; i++) sum += f(a + i * h) * (i % 2 ? 4 : 2);
  const half = (sum * h) / 3;
  return z >= 0 ? 0.5 + half : 0.5 - half;
}

/** Two-sided pooled two-proportion z-test of k2/n2 against k1/n1. */
function expectedTest(k1: number, n1: number, k2: number, n2: number) {
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const pooled = (k1 + k2) / (n1 + n2);
  const z = (p2 - p1) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const p = 2 * (1 - phi(Math.abs(z)));
  return { difference: round((p2 - p1) * 100, 2), z: round(z, 3), p_value: round(p, 4), significant: p < 0.05 };
}

function expectedWilson(k: number, n: number) {
  const p = k / n;
  const centre = p + (Z975 * Z975) / (2 * n);
  const spread = Z975 * Math.sqrt((p * (1 - p)) / n + (Z975 * Z975) / (4 * n * n));
  const denominator = 1 + (Z975 * Z975) / n;
  return { low: round(((centre - spread) / denominator) * 100, 2), high: round(((centre + spread) / denominator) * 100, 2) };
}

const satisfied = (scores: number[]) => scores.filter((s) => s >= 4).length;

describe('GET /reports/variants: the variants of one question side by side', () => {
  const tmp = tempDir();
  let t: TestApp;
  const get = (path: string) => request(t.app).get(path).set(bearer(t.config.reportsToken));

  beforeAll(async () => {
    t = await bootApp({ SURVEYS_FILE: tmp.write('surveys.yml', FILE) });
    const planned: Array<{ id: string; score?: number }> = [];
    let n = 0;
    const post = async (ticketId: string, team: string) => {
      const res = await t.postWebhook(ticketPayload({ ticket_id: ticketId, team, customer: { email: `customer-${(n += 1)}@example.com` } }));
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.survey_id as string;
    };
    for (const [variant, plan] of Object.entries(PLAN)) {
      let made = 0;
      for (let i = 0; made < plan.sent; i++) {
        const ticketId = `VR-${variant}-${i}`;
        if (chooseVariant(SPLIT, 'handling', ticketId) !== variant) continue;
        planned.push({ id: await post(ticketId, 'billing'), score: plan.scores[made] });
        made += 1;
      }
    }
    for (let i = 0; i < OTHER.sent; i++) planned.push({ id: await post(`VR-other-${i}`, 'sales'), score: OTHER.scores[i] });
    await t.services.worker.drain();
    for (const p of planned) {
      if (p.score === undefined) continue;
      await t.services.ratings.recordRating(await t.services.surveys.issueToken(p.id), { score: p.score });
    }
  }, 300_000);
  afterAll(async () => {
    await t.close();
    tmp.cleanup();
  });

  it('when the surveys were seeded, then each stored variant is the one its ticket id hashes to and all were sent', async () => {
    const rows = await t.db('surveys').where({ question_id: 'handling' }).select('ticket_id', 'variant', 'status');
    expect(rows).toHaveLength(150);
    for (const r of rows) expect([r.ticket_id, r.variant, r.status]).toEqual([r.ticket_id, chooseVariant(SPLIT, 'handling', r.ticket_id), 'sent']);
  });

  it('when the question is compared, then each variant shows its sent, responses, response rate, csat and Wilson interval', async () => {
    const res = await get(`/reports/variants?question=handling&${PERIOD}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ question: 'handling', control: 'a', from: '2026-11-01', to: '2026-11-30' });
    expect(res.body.variants.map((v: { variant: string }) => v.variant)).toEqual(['a', 'b', 'c']);
    for (const row of res.body.variants) {
      const plan = PLAN[row.variant];
      const k = satisfied(plan.scores);
      const n = plan.scores.length;
      const interval = expectedWilson(k, n);
      expect(row).toMatchObject({
        surveys_sent: plan.sent,
        responses: n,
        response_rate: round((n / plan.sent) * 100, 2),
        csat: round((k / n) * 100, 2),
        csat_ci_low: interval.low,
        csat_ci_high: interval.high,
      });
      expect(row.distribution).toEqual(Object.fromEntries([1, 2, 3, 4, 5].map((s) => [String(s), plan.scores.filter((x) => x === s).length])));
    }
  });

  it('when a variant is compared to the control, then difference, z, p-value and significance match a pooled two-proportion z-test', async () => {
    const res = await get(`/reports/variants?question=handling&${PERIOD}`);
    const [control, ...others] = res.body.variants;
    expect(control.csat_vs_control).toBeNull();
    expect(control.response_rate_vs_control).toBeNull();
    const a = PLAN.a;
    for (const row of others) {
      const v = PLAN[row.variant];
      expect([row.variant, row.csat_vs_control]).toEqual([row.variant, expectedTest(satisfied(a.scores), a.scores.length, satisfied(v.scores), v.scores.length)]);
      expect([row.variant, row.response_rate_vs_control]).toEqual([row.variant, expectedTest(a.scores.length, a.sent, v.scores.length, v.sent)]);
    }
    // The seed was chosen so that both outcomes occur: b's csat and c's response rate differ, c's csat and b's response rate do not.
    const byId = Object.fromEntries(others.map((r: { variant: string }) => [r.variant, r]));
    expect(byId.b.csat_vs_control).toMatchObject({ difference: -35, significant: true });
    expect(byId.b.csat_vs_control.p_value).toBeLessThan(0.01);
    expect(byId.c.csat_vs_control).toMatchObject({ difference: -6.67, significant: false });
    expect(byId.b.response_rate_vs_control).toMatchObject({ difference: 0, z: 0, p_value: 1, significant: false });
    expect(byId.c.response_rate_vs_control).toMatchObject({ difference: -20, significant: true });
  });

  it('when the comparison is asked for as CSV, then each variant row carries its differences and p-values', async () => {
    const res = await get(`/reports/variants?question=handling&${PERIOD}&format=csv`);
    expect(res.status).toBe(200);
    const [header, ...rows] = res.text.trim().split('\r\n');
    const cols = header.split(',');
    const cell = (row: string, col: string) => row.split(',')[cols.indexOf(col)];
    const b = rows.find((r) => r.startsWith('b,'))!;
    const expected = expectedTest(32, 40, 18, 40);
    expect(Number(cell(b, 'csat_p_value'))).toBe(expected.p_value);
    expect(Number(cell(b, 'csat_diff_pp'))).toBe(-35);
    expect(cell(rows.find((r) => r.startsWith('a,'))!, 'csat_p_value')).toBe('');
  });

  it('when the comparison is opened in a browser, then the table says which differences are significant', async () => {
    const res = await get(`/reports/variants?question=handling&${PERIOD}`).set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.text).toContain(`-35 pp, p = ${expectedTest(32, 40, 18, 40).p_value} <strong>significant</strong>`);
    expect(res.text).toContain(`-6.67 pp, p = ${expectedTest(32, 40, 22, 30).p_value} <span class="muted">not significant</span>`);
  });

  it('when the period holds no surveys, then the defined variants are listed with no numbers and no tests', async () => {
    const res = await get('/reports/variants?question=handling&from=2025-01-01&to=2025-01-31');
    expect(res.body.variants.map((v: { variant: string }) => v.variant)).toEqual(['a', 'b', 'c']);
    for (const row of res.body.variants) expect(row).toMatchObject({ surveys_sent: 0, responses: 0, csat: null, response_rate: null, csat_vs_control: null });
  });

  it('when no question is named, then it answers 400 naming the parameter', async () => {
    const res = await get(`/reports/variants?${PERIOD}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_query', details: [{ path: 'question', message: 'is required' }] });
  });

  it('when /reports/agents is filtered by question and variant, then it counts only those surveys', async () => {
    const overall = async (query: string) => (await get(`/reports/agents?${PERIOD}${query}`)).body.overall;
    expect(await overall('')).toMatchObject({ surveys_sent: 160, responses: 115 });
    expect(await overall('&question=handling')).toMatchObject({ surveys_sent: 150, responses: 110 });
    expect(await overall('&question=other')).toMatchObject({ surveys_sent: 10, responses: 5, csat: 60 });
    for (const [variant, plan] of Object.entries(PLAN)) {
      expect(await overall(`&question=handling&variant=${variant}`)).toMatchObject({
        surveys_sent: plan.sent,
        responses: plan.scores.length,
        csat: round((satisfied(plan.scores) / plan.scores.length) * 100, 2),
      });
    }
    expect(await overall('&variant=b')).toMatchObject({ surveys_sent: 50 });
    expect(await overall('&question=other&variant=b')).toMatchObject({ surveys_sent: 0, responses: 0, csat: null });
  });

  it('when /reports/trend is filtered by variant, then its buckets add up to that variant', async () => {
    const res = await get(`/reports/trend?${PERIOD}&interval=month&question=handling&variant=c`);
    expect(res.status).toBe(200);
    expect(res.body.buckets).toEqual([expect.objectContaining({ surveys_sent: 50, responses: 30 })]);
  });
});
