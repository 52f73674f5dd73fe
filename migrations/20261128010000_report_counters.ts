import type { Knex } from 'knex';

const REASONS = ['excluded_tag', 'no_agent', 'customer_is_agent', 'internal_domain', 'opted_out', 'throttled', 'sampled_out'];
const COUNTERS = [
  ...['sent', 'suppressed', 'failed', 'cancelled', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments'],
  ...REASONS.map((r) => `suppressed_${r}`),
];

/**
 * Exact report counters per agent, team, brand, question and variant, by local day and month, kept in the
 * same transaction as every survey write (src/reports/ledger.ts) and rebuildable from the surveys
 * table. Empty strings stand for "none" in the key columns, so the primary keys stay simple.
 */
export async function up(knex: Knex): Promise<void> {
  for (const [table, period, length] of [['agent_day_stats', 'day', 10], ['agent_month_stats', 'month', 7]] as const) {
    await knex.schema.createTable(table, (t) => {
      t.string(period, length).notNullable(); // YYYY-MM-DD or YYYY-MM of closed_at in REPORT_TZ
      t.string('agent_id', 128).notNullable();
      t.string('team', 128).notNullable();
      t.string('brand', 128).notNullable();
      t.string('question_id', 64).notNullable();
      t.string('variant', 64).notNullable();
      for (const column of COUNTERS) t.integer(column).notNullable().defaultTo(0);
      // The month's latest day with counts, so "the agent's team on the latest day" holds for whole months too.
      if (period === 'month') t.string('last_day', 10).notNullable();
      t.primary([period, 'agent_id', 'team', 'brand', 'question_id', 'variant']);
      t.index(['agent_id', period]);
    });
  }

  await knex.schema.createTable('agents', (t) => {
    t.string('agent_id', 128).primary();
    t.string('agent_name', 200);
    t.timestamp('last_closed_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('report_meta', (t) => {
    t.string('key', 64).primary();
    t.string('value', 255).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['report_meta', 'agents', 'agent_month_stats', 'agent_day_stats']) await knex.schema.dropTable(table);
}
