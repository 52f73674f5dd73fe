import type { Knex } from 'knex';

/** Rating events waiting to be POSTed to RATING_WEBHOOK_URL receivers: an outbox of their own. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hook_outbox', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.string('url', 2048).notNullable();
    t.text('body').notNullable();
    t.string('status', 16).notNullable(); // pending | sent | failed
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['status', 'due_at']);
    t.index(['survey_id', 'url', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('hook_outbox');
}
