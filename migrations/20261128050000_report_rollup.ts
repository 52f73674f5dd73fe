import type { Knex } from 'knex';
import { deriveRollupSql } from '../src/surveys/counters/rollup';

const REASONS = ['excluded_tag', 'no_agent', 'customer_is_agent', 'internal_domain', 'opted_out', 'throttled', 'sampled_out'];
const COUNTERS = [
  ...['sent', 'suppressed', 'failed', 'cancelled', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments'],
  ...REASONS.map((r) => `suppressed_${r}`),
];

/**
 * The agents report's rollup (src/reports/rollup.ts): counters per period (year, month, 7-day
 * block of a month, day), agent and team, filled here from the day counters already kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_rollup', (t) => {
    t.string('period', 10).notNullable(); // 2026, 2026-11, 2026-11/4 or 2026-11-28, in REPORT_TZ
    t.string('agent_id', 128).notNullable();
    t.string('team', 128).notNullable();
    t.string('last_day', 10).notNullable(); // the period's latest day with counts: the agent's team on it is the one shown
    for (const column of COUNTERS) t.integer(column).notNullable().defaultTo(0);
    t.primary(['period', 'agent_id', 'team']);
  });
  for (const sql of deriveRollupSql(COUNTERS)) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_rollup');
}
