import type { Knex } from 'knex';

/**
 * Exact per-agent per-day counters for reports, kept in the same transaction as every
 * survey write (src/reports/ledger.ts) and rebuildable from the surveys table.
 * Empty strings stand for "none" in the key columns, so the primary key stays simple.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_day_stats', (t) => {
    t.string('day', 10).notNullable(); // YYYY-MM-DD of closed_at in REPORT_TZ
    t.string('agent_id', 128).notNullable();
    t.string('team', 128).notNullable();
    t.string('brand', 128).notNullable();
    for (const column of ['sent', 'suppressed', 'failed', 'responses', 'score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments']) {
      t.integer(column).notNullable().defaultTo(0);
    }
    t.primary(['day', 'agent_id', 'team', 'brand']);
    t.index(['agent_id', 'day']);
  });

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
  for (const table of ['report_meta', 'agents', 'agent_day_stats']) await knex.schema.dropTable(table);
}
