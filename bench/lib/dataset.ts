import crypto from 'node:crypto';
import type { Database } from 'sqlite3';
import { COUNTERS, contribution } from '../../src/surveys/counters/ledger';
import { localDay, startOfDay } from '../../src/shared/period';
import { all, exec, inserter, type InsertShape } from './sqlite';
import { makeAgents, makeRandom, pickScore, pickWeighted, BRANDS, COMMENTS, LOCALES, LOCALE_MIX, SUBJECTS, SUPPRESSIONS } from './people';

export type DatasetSpec = {
  surveys: number;
  ratings: number;
  agents: number;
  teams: number;
  /** Closing instants are spread evenly from the start of `firstDay` (in `tz`) to `now`. */
  firstDay: string;
  now: Date;
  tz: string;
  questionId: string;
  /** Frozen wording JSON per locale, as the survey service stores it on each row. */
  wording: Record<(typeof LOCALES)[number], string>;
  seed: number;
};

export type DatasetSummary = { surveys: number; sent: number; suppressed: number; failed: number; ratings: number; comments: number; dayRows: number; monthRows: number; agents: number };

const SURVEY_COLUMNS = ['id', 'source', 'ticket_id', 'customer_email', 'customer_name', 'agent_id', 'agent_name', 'agent_email', 'team', 'subject', 'tags', 'locale', 'brand', 'closed_at', 'question_id', 'wording', 'status', 'suppression_reason', 'message_id', 'sent_at', 'last_error', 'score', 'comment', 'first_rated_at', 'rated_at', 'created_at', 'updated_at'];
const STATS_COLUMNS = ['agent_id', 'team', 'brand', 'question_id', 'variant', ...COUNTERS];
const SURVEYS_PER_TRANSACTION = 50_000;
const QUARTER_HOUR = 900_000;

/**
 * A survey row binds 18 values; the rest is constant or follows from them, written in SQL.
 * Nullable values are bound as '' and turned into NULL by NULLIF (a string binds faster than a null).
 */
const surveyShape = (spec: DatasetSpec): InsertShape => ({
  shared: [spec.questionId, ...LOCALES.map((l) => spec.wording[l])],
  perRow: 18, // id, ticket no, customer no, agent id, name, email, team, subject, tags, locale, brand, closed_at, status, sent_at, score, comment, rated_at, suppression reason
  tuple: (p, s) => {
    const [agentId, agentName, agentEmail, sentAt, score, comment, ratedAt] = [3, 4, 5, 13, 14, 15, 16].map((i) => `NULLIF(${p(i)},'')`);
    return (
      `(${p(0)},'zendesk','T-'||${p(1)},'customer'||${p(2)}||'@example.com','Customer '||${p(2)},${agentId},${agentName},${agentEmail},` +
      `${p(6)},${p(7)},${p(8)},${p(9)},${p(10)},${p(11)},${s(0)},CASE ${p(9)} ${LOCALES.map((l, i) => `WHEN '${l}' THEN ${s(i + 1)}`).join(' ')} END,` +
      `${p(12)},NULLIF(${p(17)},''),'<survey.'||${p(0)}||'@closeloop.example>',${sentAt},` +
      `CASE ${p(12)} WHEN 'failed' THEN '550 5.1.1 Recipient address rejected: User unknown' END,${score},${comment},${ratedAt},${ratedAt},` +
      `${p(11)}+500,COALESCE(${ratedAt},${sentAt},${p(11)}+500))`
    );
  },
});

/** Rating and comment events for the surveys written since `afterRowid`, in the order they happened. */
const EVENTS_SQL = `
  INSERT INTO rating_events (survey_id, kind, score, comment, created_at)
  SELECT id, kind, score, comment, at FROM (
    SELECT id, 'rated' AS kind, score, NULL AS comment, rated_at AS at FROM surveys WHERE rowid > ?1 AND score IS NOT NULL
    UNION ALL
    SELECT id, 'commented', NULL, comment, rated_at + 30000 FROM surveys WHERE rowid > ?1 AND comment IS NOT NULL)
  ORDER BY at`;

/**
 * Writes the surveys, their rating events, the day and month counters and the agents table
 * through the raw connection. Surveys are generated in closing order (as a helpdesk sends them),
 * so a day's counters are complete when the day changes and are written then. Each survey's
 * counts come from ledger.contribution(), the function the service uses; with BENCH_REBUILD=1
 * the run checks that the counter rebuild (src/surveys/counters/rebuild.ts) from the raw rows gives exactly the same counters.
 */
export async function writeDataset(conn: Database, spec: DatasetSpec, progress: (done: number) => void): Promise<DatasetSummary> {
  const random = makeRandom(spec.seed);
  const start = startOfDay(spec.firstDay, spec.tz).getTime();
  const agents = makeAgents(spec.agents, spec.teams, random, start, spec.now.getTime());
  const teams = [...new Set(agents.flatMap((a) => a.teams))];
  const span = spec.now.getTime() - start;
  const surveys = inserter(conn, 'surveys', SURVEY_COLUMNS, surveyShape(spec));
  const dayStats = inserter(conn, 'agent_day_stats', ['day', ...STATS_COLUMNS]);
  const monthStats = inserter(conn, 'agent_month_stats', ['month', 'last_day', ...STATS_COLUMNS]);
  const lastClosed = new Map<string, number>();

  // Exact totals, drawn without replacement so every run has the same counts.
  const left = { sent: Math.round(spec.surveys * 0.93), suppressed: Math.round(spec.surveys * 0.05), failed: 0, ratings: spec.ratings };
  left.failed = spec.surveys - left.sent - left.suppressed;
  const summary: DatasetSummary = { surveys: spec.surveys, sent: left.sent, suppressed: left.suppressed, failed: left.failed, ratings: 0, comments: 0, dayRows: 0, monthRows: 0, agents: agents.length };

  // contribution() depends on status, suppression reason, score and whether there is a comment: ask it once per combination.
  const contributions = new Map<string, number[]>();
  const countsOf = (status: string, suppressionReason: string | null, score: number | null, comment: string | null) => {
    const id = `${status}${suppressionReason}${score}${comment ? 1 : 0}`;
    let c = contributions.get(id);
    if (!c) contributions.set(id, (c = COUNTERS.map((k) => contribution({ status, suppressionReason, score, comment })[k])));
    return c;
  };
  type Totals = Map<number, { key: string[]; counts: number[]; lastDay: string }>;
  const add = (totals: Totals, id: number, key: () => string[], counts: number[], day: string) => {
    let entry = totals.get(id);
    if (!entry) totals.set(id, (entry = { key: key(), counts: COUNTERS.map(() => 0), lastDay: day }));
    for (let k = 0; k < counts.length; k++) entry.counts[k] += counts[k];
    entry.lastDay = day; // days arrive in order
  };
  const days: Totals = new Map();
  const months: Totals = new Map();
  const flushDay = async (day: string, monthEnds: boolean) => {
    for (const [id, e] of days) {
      if (dayStats.push([day, ...e.key, ...e.counts])) await dayStats.flush();
      add(months, id, () => e.key, e.counts, day);
    }
    days.clear();
    if (!monthEnds) return;
    for (const e of months.values()) if (monthStats.push([day.slice(0, 7), e.lastDay, ...e.key, ...e.counts])) await monthStats.flush();
    months.clear();
  };

  let bucket = -1;
  let day = '';
  let eventsAfter = 0;
  await exec(conn, 'BEGIN');
  for (let i = 0; i < spec.surveys; i++) {
    const closedAt = start + Math.floor(((i + random.next()) * span) / spec.surveys);
    if (Math.floor(closedAt / QUARTER_HOUR) !== bucket) {
      // Every zone's offset is a whole number of quarter hours, so the local day is constant within one.
      bucket = Math.floor(closedAt / QUARTER_HOUR);
      const next = localDay(new Date(bucket * QUARTER_HOUR), spec.tz);
      if (day && next !== day) await flushDay(day, next.slice(0, 7) !== day.slice(0, 7));
      day = next;
    }
    const roll = random.next() * (spec.surveys - i);
    const status = roll < left.sent ? 'sent' : roll < left.sent + left.suppressed ? 'suppressed' : 'failed';
    left[status]--;
    const rated = status === 'sent' && random.next() * (left.sent + 1) < left.ratings;
    if (rated) left.ratings--;

    const reason = status === 'suppressed' ? pickWeighted(SUPPRESSIONS, random) : null;
    const a = reason === 'no_agent' ? -1 : Math.floor(random.next() * agents.length);
    const agent = a < 0 ? null : agents[a];
    const team = agent ? (closedAt < agent.movesAt ? agent.teams[0] : agent.teams[1]) : random.pick(agents).teams[0];
    const brand = random.next() < 0.6 ? BRANDS[0] : BRANDS[1];
    const score = rated ? pickScore(agent?.skill ?? 0, random) : null;
    const comment = rated && random.next() < 0.2 ? random.pick(COMMENTS) : null;
    const sentAt = status === 'sent' ? closedAt + 2_000 + Math.floor(random.next() * 8_000) : null;
    const ratedAt = rated ? Math.min(spec.now.getTime(), sentAt! + Math.floor(random.next() ** 3 * 3 * 86_400_000)) : null;
    const row = [
      crypto.randomUUID(), i + 1, Math.floor(random.next() * 2_000_000), agent?.id ?? '', agent?.name ?? '', agent?.email ?? '',
      team, random.pick(SUBJECTS), random.next() < 0.05 ? '["vip"]' : '[]', random.pick(LOCALE_MIX), brand, closedAt, status, sentAt ?? '', score ?? '', comment ?? '', ratedAt ?? '', reason ?? '',
    ];
    if (surveys.push(row)) await surveys.flush();
    if (rated) summary.ratings++;
    if (comment) summary.comments++;
    const key = ((a + 1) * 4096 + teams.indexOf(team)) * BRANDS.length + BRANDS.indexOf(brand);
    add(days, key, () => [agent?.id ?? '', team, brand, spec.questionId, ''], countsOf(status, reason, score, comment), day);
    if (agent) lastClosed.set(agent.id, closedAt);

    if ((i + 1) % SURVEYS_PER_TRANSACTION === 0 || i + 1 === spec.surveys) {
      for (const ins of [surveys, dayStats, monthStats]) await ins.drain();
      await all(conn, EVENTS_SQL, [eventsAfter]);
      eventsAfter = (await all<{ n: number }>(conn, 'SELECT MAX(rowid) AS n FROM surveys'))[0].n;
      await exec(conn, 'COMMIT; BEGIN');
      progress(i + 1);
    }
  }
  await flushDay(day, true);
  const agentRows = inserter(conn, 'agents', ['agent_id', 'agent_name', 'last_closed_at']);
  for (const agent of agents) if (lastClosed.has(agent.id)) agentRows.push([agent.id, agent.name, lastClosed.get(agent.id)]);
  for (const ins of [surveys, dayStats, monthStats, agentRows]) await ins.close();
  await all(conn, "INSERT INTO report_meta (key, value) VALUES ('stats_tz', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [spec.tz]);
  await exec(conn, 'COMMIT');
  return { ...summary, dayRows: dayStats.written, monthRows: monthStats.written };
}
