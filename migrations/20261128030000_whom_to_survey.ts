import type { Knex } from 'knex';

/**
 * Whom to survey: customers who opted out, the tokens of unsubscribe links, and indexes for
 * the per-customer checks (throttle, "is this customer one of our agents") on lowercased emails.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('opt_outs', (t) => {
    t.string('email', 320).primary(); // lowercased
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('unsubscribe_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('email', 320).notNullable(); // lowercased
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.raw('CREATE INDEX surveys_customer_email_lc ON surveys (lower(customer_email), created_at)');
  await knex.raw('CREATE INDEX surveys_agent_email_lc ON surveys (lower(agent_email))');
  // Once per ticket, except that a survey cancelled by a reopen stays as history beside a new one.
  await knex.schema.alterTable('surveys', (t) => t.dropUnique(['source', 'ticket_id']));
  await knex.raw("CREATE UNIQUE INDEX surveys_ticket_once ON surveys (source, ticket_id) WHERE status <> 'cancelled'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX surveys_ticket_once');
  await knex.schema.alterTable('surveys', (t) => t.unique(['source', 'ticket_id']));
  await knex.raw('DROP INDEX surveys_agent_email_lc');
  await knex.raw('DROP INDEX surveys_customer_email_lc');
  await knex.schema.dropTable('unsubscribe_tokens');
  await knex.schema.dropTable('opt_outs');
}
