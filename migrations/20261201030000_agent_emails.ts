import type { Knex } from 'knex';

/**
 * "Is this customer one of our agents?" (customer_is_agent, surveys/eligibility.ts) looked for the
 * address among every survey's agent address, through an index on surveys: an entry per survey
 * for a few hundred distinct addresses, and a page of it written by nearly every webhook (11 of a
 * webhook's 64 KiB written on SQLite, BENCHMARKS.md). The addresses get a table of their own, one
 * row per address, written only when a survey brings a new one (surveys/state.ts); the index goes.
 * Addresses are kept as `lower(agent_email)` was compared before (SQLite lowers ASCII letters only,
 * as JavaScript's toLowerCase does for them).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_emails', (t) => {
    t.string('email', 320).primary(); // lowercased
  });
  await knex.raw('INSERT INTO agent_emails (email) SELECT DISTINCT lower(agent_email) FROM surveys WHERE agent_email IS NOT NULL');
  await knex.raw('DROP INDEX surveys_agent_email_lc');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX surveys_agent_email_lc ON surveys (lower(agent_email))');
  await knex.schema.dropTable('agent_emails');
}
