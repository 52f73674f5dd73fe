import { addDaysTo } from '../../shared/period';

/**
 * The agents report's own counters, keyed by period, agent and team only (brand, question and
 * variant summed), at four nested grains of the local calendar:
 *
 *   year   2026          month  2026-11
 *   block  2026-11/4     (days 1–7, 8–14, 15–21, 22–28 and 29–31 of the month are blocks 1–5)
 *   day    2026-11-28
 *
 * Any period [from, to] is covered exactly by a short list of these (coverPeriod): a 3-year
 * report ending on the 28th reads 18 periods of about 500 rows instead of 36 months and 30 days
 * of about 1,000 rows each in the detailed counters. Reports filtered by brand, question or
 * variant read the detailed counters (agent_day_stats, agent_month_stats) instead.
 */
export const ROLLUP_TABLE = 'agent_rollup';
/**
 * The detailed counters' (agent_day_stats: agent, team, brand, question, variant) two grains between
 * day and month and above month: years and blocks, as in the rollup. A report filtered by brand,
 * question or variant covers its period with them, the month and the day counters (coverPeriod).
 */
export const SPAN_TABLE = 'agent_span_stats';

/** 1 for days 1–7, …, 5 for days 29–31. */
const blockOf = (dayOfMonth: number) => Math.floor((dayOfMonth + 6) / 7);
const blockStart = (block: number) => (block - 1) * 7 + 1;

/** The four rollup periods a local day counts in, coarsest first. */
export function periodsOf(day: string): [string, string, string, string] {
  const month = day.slice(0, 7);
  return [day.slice(0, 4), month, `${month}/${blockOf(Number(day.slice(8, 10)))}`, day];
}

const lastDayOfMonth = (day: string) => addDaysTo(`${addDaysTo(`${day.slice(0, 7)}-28`, 7).slice(0, 7)}-01`, -1);

/**
 * The fewest rollup periods that together hold exactly the days from..to (both included, from ≤ to):
 * walking from `from`, each step takes the largest unit that starts on that day and ends by `to`.
 * The grains nest, so this greedy walk is the shortest cover.
 */
export function coverPeriod(from: string, to: string): string[] {
  const periods: string[] = [];
  for (let day = from; day <= to; ) {
    const [year, month, block] = periodsOf(day);
    const dayOfMonth = Number(day.slice(8, 10));
    const monthEnd = lastDayOfMonth(day);
    const blockEnd = blockOf(dayOfMonth) === 5 ? monthEnd : `${month}-${String(blockStart(blockOf(dayOfMonth)) + 6).padStart(2, '0')}`;
    let unit: [string, string] = [day, day];
    if (day.endsWith('-01-01') && `${year}-12-31` <= to) unit = [year, `${year}-12-31`];
    else if (dayOfMonth === 1 && monthEnd <= to) unit = [month, monthEnd];
    else if (dayOfMonth === blockStart(blockOf(dayOfMonth)) && blockEnd <= to) unit = [block, blockEnd];
    periods.push(unit[0]);
    day = addDaysTo(unit[1], 1);
  }
  return periods;
}

/** The four rollup periods of a counter row's `day`, as SQL both engines read (periodsOf). */
const GRAINS = [
  'substr(day, 1, 4)',
  'substr(day, 1, 7)',
  "substr(day, 1, 7) || '/' || CAST((CAST(substr(day, 9, 2) AS INTEGER) + 6) / 7 AS VARCHAR(1))",
  'day',
];

/**
 * SQL that fills the rollup from agent_day_stats (which must be complete): one statement per grain,
 * portable between SQLite and PostgreSQL. Used by the migration that adds the table (a rebuild and
 * the reports benchmark add days with addDaysSql below).
 */
export function deriveRollupSql(counters: readonly string[]): string[] {
  const columns = ['period', 'agent_id', 'team', 'last_day', ...counters].join(', ');
  const sums = counters.map((c) => `SUM(${c})`).join(', ');
  return GRAINS.map(
    (period) => `INSERT INTO ${ROLLUP_TABLE} (${columns}) SELECT ${period}, agent_id, team, MAX(day), ${sums} FROM agent_day_stats GROUP BY ${period}, agent_id, team`,
  );
}

/**
 * The ON CONFLICT clause of a counter upsert: it adds the new row's counters to the stored ones
 * and, with `lastDay`, keeps the later `last_day`. The ledger's writes and a rebuild's steps use it.
 */
export const addingOnConflict = (table: string, key: readonly string[], counters: readonly string[], lastDay: boolean) =>
  `ON CONFLICT (${key.map((c) => `"${c}"`).join(', ')}) DO UPDATE SET ` +
  [
    ...counters.map((c) => `"${c}" = "${table}"."${c}" + excluded."${c}"`),
    ...(lastDay ? [`"last_day" = CASE WHEN excluded."last_day" > "${table}"."last_day" THEN excluded."last_day" ELSE "${table}"."last_day" END`] : []),
  ].join(', ');

/**
 * SQL that adds the day counters (`_next` ones with NEXT) of the local days `?`..`?` into the
 * counters derived from them, of the same suffix, adding to rows already there: `months` into
 * agent_month_stats, `periods` into the rollup (all four grains) and the span counters (years and
 * blocks). A rebuild's step (rebuild.ts) runs them all after it wrote those days; the reports
 * benchmark the `periods` ones. Each statement takes the two days as its parameters.
 */
export function addDaysSql(counters: readonly string[], suffix: string): { months: string; periods: string[] } {
  const sums = counters.map((c) => `SUM(${c})`).join(', ');
  const detailed = ['agent_id', 'team', 'brand', 'question_id', 'variant'];
  const into = (table: string, column: string, key: readonly string[], grain: string) =>
    `INSERT INTO ${table} (${column}, ${key.join(', ')}, last_day, ${counters.join(', ')}) SELECT ${grain}, ${key.join(', ')}, MAX(day), ${sums} ` +
    `FROM agent_day_stats${suffix} WHERE day >= ? AND day <= ? GROUP BY ${grain}, ${key.join(', ')} ${addingOnConflict(table, [column, ...key], counters, true)}`;
  return {
    months: into(`agent_month_stats${suffix}`, 'month', detailed, GRAINS[1]),
    periods: [
      ...GRAINS.map((grain) => into(`${ROLLUP_TABLE}${suffix}`, 'period', ['agent_id', 'team'], grain)),
      ...[GRAINS[0], GRAINS[2]].map((grain) => into(`${SPAN_TABLE}${suffix}`, 'period', detailed, grain)),
    ],
  };
}
