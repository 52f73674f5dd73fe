import type { Knex } from 'knex';

/** Surveys, their outgoing mail, rating tokens, rating history and link hits. Timestamps are stored as instants. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('surveys', (t) => {
    t.string('id', 36).primary();
    t.string('source', 32).notNullable();
    t.string('ticket_id', 128).notNullable();
    t.string('customer_email', 320).notNullable();
    t.string('customer_name', 200);
    t.string('agent_id', 128);
    t.string('agent_name', 200);
    t.string('agent_email', 320);
    t.string('team', 128);
    t.string('subject', 500);
    t.text('tags').notNullable().defaultTo('[]');
    t.string('locale', 35);
    t.string('brand', 128);
    t.string('thread_message_id', 998);
    t.timestamp('closed_at', { useTz: true }).notNullable();
    t.string('status', 16).notNullable();
    t.string('suppression_reason', 64);
    t.string('message_id', 255).notNullable();
    t.timestamp('sent_at', { useTz: true });
    t.text('last_error');
    t.integer('score');
    t.text('comment');
    t.timestamp('first_rated_at', { useTz: true });
    t.timestamp('rated_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.unique(['source', 'ticket_id']);
    t.index(['closed_at']);
    t.index(['agent_id', 'closed_at']);
    t.index(['status']);
  });

  await knex.schema.createTable('outbox', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().unique().references('surveys.id');
    t.string('status', 16).notNullable();
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['status', 'due_at']);
  });

  await knex.schema.createTable('survey_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['survey_id']);
  });

  await knex.schema.createTable('rating_events', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.string('kind', 16).notNullable();
    t.integer('score');
    t.text('comment');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['survey_id', 'created_at']);
  });

  await knex.schema.createTable('link_events', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.string('kind', 24).notNullable();
    t.integer('score');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['survey_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['link_events', 'rating_events', 'survey_tokens', 'outbox', 'surveys']) {
    await knex.schema.dropTable(table);
  }
}
