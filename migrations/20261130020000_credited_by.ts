import type { Knex } from 'knex';

/**
 * How each survey's agent was chosen (README "Agent credit"): last_reply, closer, assignee, or payload (the generic
 * contract's own agent); null when there is no agent. Before this, every adapter credited the assignee and the
 * generic contract its agent, so existing rows are filled in accordingly.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('surveys', (t) => {
    t.string('credited_by', 16);
  });
  await knex('surveys').whereNotNull('agent_id').andWhere('source', 'generic').update({ credited_by: 'payload' });
  await knex('surveys').whereNotNull('agent_id').andWhereNot('source', 'generic').update({ credited_by: 'assignee' });
}

/** Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): knex's SQLite fallback copies the table, which the outbox's foreign keys refuse. */
export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE surveys DROP COLUMN credited_by');
}
