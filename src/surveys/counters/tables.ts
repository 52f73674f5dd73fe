import type { Knex } from 'knex';
import { COUNTERS } from './ledger';
import { ROLLUP_TABLE, SPAN_TABLE } from './rollup';
import { COUNTER_TABLES, NEXT } from './state';

/** The suffix of the tables a swap set aside, dropped right after it. */
export const OLD = '_old';

/**
 * Creates the `_next` counter tables, column for column as the migrations made the live ones
 * (20261128010000_report_counters, 20261128050000_report_rollup, 20261201020000_span_counters; test/surveys/counters/rebuild.test.ts
 * compares them). The indexes are named with `generation`: they keep their names when the tables are
 * renamed, and the next rebuild's must not collide with them.
 */
export async function createNextTables(trx: Knex.Transaction, generation: number): Promise<void> {
  const named = (what: string) => `${what}_g${generation}`;
  for (const [table, period, length] of [['agent_day_stats', 'day', 10], ['agent_month_stats', 'month', 7], [SPAN_TABLE, 'period', 10]] as const) {
    await trx.schema.createTable(`${table}${NEXT}`, (t) => {
      t.string(period, length).notNullable();
      t.string('agent_id', 128).notNullable();
      t.string('team', 128).notNullable();
      t.string('brand', 128).notNullable();
      t.string('question_id', 64).notNullable();
      t.string('variant', 64).notNullable();
      if (table === SPAN_TABLE) t.string('last_day', 10).notNullable();
      for (const column of COUNTERS) t.integer(column).notNullable().defaultTo(0);
      if (table === 'agent_month_stats') t.string('last_day', 10).notNullable();
      t.primary([period, 'agent_id', 'team', 'brand', 'question_id', 'variant'], named(`${table}_pkey`));
      if (table !== SPAN_TABLE) t.index(['agent_id', period], named(`${table}_agent_id_${period}`));
    });
  }
  await trx.schema.createTable(`${ROLLUP_TABLE}${NEXT}`, (t) => {
    t.string('period', 10).notNullable();
    t.string('agent_id', 128).notNullable();
    t.string('team', 128).notNullable();
    t.string('last_day', 10).notNullable();
    for (const column of COUNTERS) t.integer(column).notNullable().defaultTo(0);
    t.primary(['period', 'agent_id', 'team'], named(`${ROLLUP_TABLE}_pkey`));
  });
}

/** Drops the counter tables with `suffix`, where they exist. */
export async function dropTables(trx: Knex.Transaction, suffix: string): Promise<void> {
  for (const table of COUNTER_TABLES) await trx.schema.dropTableIfExists(`${table}${suffix}`);
}

/** Puts the `_next` tables in the live ones' place and the live ones aside as `_old`, in the caller's transaction. */
export async function swapTables(trx: Knex.Transaction): Promise<void> {
  for (const table of COUNTER_TABLES) {
    await trx.schema.renameTable(table, `${table}${OLD}`);
    await trx.schema.renameTable(`${table}${NEXT}`, table);
  }
}
