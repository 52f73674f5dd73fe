import type { Knex } from 'knex';

/** The id of the request that scheduled a survey, so the worker's log lines for it carry the same id. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.string('request_id', 64);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.dropColumn('request_id');
  });
}
