import type { Knex } from 'knex';

/**
 * Every rating POST, whether it counted or not, and why: a page that posted by itself waits here
 * (`pending`) until the mail-scanner rules decide it (`counted` or `discarded`); a customer's own
 * submit counts at once. `GET /api/surveys/:id` lists them, so a lead can see why a rating counted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rating_attempts', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.string('token_hash', 64).notNullable();
    t.string('source', 8).notNullable(); // page (posted by the page itself) | form (a customer's submit)
    t.integer('score');
    t.string('status', 12).notNullable(); // pending | counted | discarded | ignored | superseded
    t.string('reason', 32);
    t.integer('visible_ms');
    t.boolean('interacted');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('decide_after', { useTz: true });
    t.timestamp('decided_at', { useTz: true });
    t.index(['survey_id', 'id']);
    t.index(['status', 'decide_after']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rating_attempts');
}
