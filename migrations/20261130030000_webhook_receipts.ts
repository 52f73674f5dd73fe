import type { Knex } from 'knex';

/**
 * The answers of authenticated webhook requests, kept RECEIPT_DAYS (src/surveys/receipts.ts): a
 * replay of one (same digest, or same helpdesk event id) is answered from here and changes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_receipts', (t) => {
    t.string('digest', 64).primary(); // SHA-256 hex over the source and the bytes the credential covers
    t.string('event_key', 64).unique(); // SHA-256 hex over the source and the helpdesk's event id, where it sends one
    t.string('source', 32).notNullable();
    t.integer('status').notNullable();
    t.text('body').notNullable(); // the JSON answer
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_receipts');
}
