import type { Knex } from 'knex';

const REASONS = ['excluded_tag', 'no_agent', 'customer_is_agent', 'internal_domain', 'opted_out', 'throttled', 'sampled_out'];
const COUNTERS = [
  ...['sent', 'suppressed', 'failed', 'cancelled', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments'],
  ...REASONS.map((r) => `suppressed_${r}`),
];
const KEY = ['agent_id', 'team', 'brand', 'question_id', 'variant'];
/** A local day's year (2026) and 7-day block of its month (2026-11/4), as src/surveys/counters/rollup.ts spells them. */
const GRAINS = ['substr(day, 1, 4)', "substr(day, 1, 7) || '/' || CAST((CAST(substr(day, 9, 2) AS INTEGER) + 6) / 7 AS VARCHAR(1))"];

/**
 * The detailed counters by year and by 7-day block of a month (src/surveys/counters/rollup.ts
 * SPAN_TABLE), filled here from the day counters already kept: a report filtered by brand, question
 * or variant then reads a few years and blocks instead of every month and day of its period.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_span_stats', (t) => {
    t.string('period', 10).notNullable(); // 2026 or 2026-11/4, in REPORT_TZ
    for (const column of KEY) t.string(column, column === 'question_id' || column === 'variant' ? 64 : 128).notNullable();
    t.string('last_day', 10).notNullable();
    for (const column of COUNTERS) t.integer(column).notNullable().defaultTo(0);
    t.primary(['period', ...KEY]);
  });
  const sums = COUNTERS.map((c) => `SUM(${c})`).join(', ');
  for (const period of GRAINS) {
    await knex.raw(
      `INSERT INTO agent_span_stats (period, ${KEY.join(', ')}, last_day, ${COUNTERS.join(', ')}) ` +
        `SELECT ${period}, ${KEY.join(', ')}, MAX(day), ${sums} FROM agent_day_stats GROUP BY ${period}, ${KEY.join(', ')}`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_span_stats');
}
