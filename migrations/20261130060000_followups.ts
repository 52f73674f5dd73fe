import type { Knex } from 'knex';

/**
 * Follow-ups: each counted low rating (score ≤ ALERT_MAX_SCORE) opens one, tracked open →
 * in_progress → resolved with an owner and an outcome; every change, note included, is an event
 * with its author and time (followups/state.ts writes both).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('followups', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().unique().references('surveys.id');
    t.string('status', 12).notNullable(); // open | in_progress | resolved
    t.string('owner', 200);
    t.string('outcome', 12); // contacted | recovered | no_action, when resolved
    t.integer('score').notNullable(); // the survey's current score
    t.string('agent_id', 128);
    t.string('team', 128);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('first_action_at', { useTz: true });
    t.timestamp('resolved_at', { useTz: true });
    t.index(['status', 'created_at']);
  });
  await knex.schema.createTable('followup_events', (t) => {
    t.increments('id').primary();
    t.integer('followup_id').notNullable().references('followups.id');
    t.string('kind', 12).notNullable(); // opened | changed | note | recovered | reopened
    t.string('author', 200); // null: Closeloop itself (a rating opened, recovered or reopened it)
    t.string('status', 12).notNullable(); // the follow-up's status after the event
    t.string('owner', 200);
    t.string('outcome', 12);
    t.text('note');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['followup_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('followup_events');
  await knex.schema.dropTable('followups');
}
