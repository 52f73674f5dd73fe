import type { Knex } from 'knex';

/**
 * Reminders: one per sent survey when REMINDER_AFTER_HOURS > 0, queued when its first email is
 * sent and sent at most once (reminders/); surveys.reminded_at says when it went out, so reports
 * tell first-email responses from reminder responses. Lead alerts: the email alerts to a team's
 * leads about low ratings (alerts/), one row per lead, queued with the follow-up they announce; a
 * digest gathers a lead's pending alerts of a team under the first one's id (batch_id).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('surveys', (t) => {
    t.timestamp('reminded_at', { useTz: true });
  });
  await knex.schema.createTable('reminders', (t) => {
    t.increments('id').primary();
    t.string('survey_id', 36).notNullable().unique().references('surveys.id');
    t.string('status', 16).notNullable(); // pending | sent | cancelled | failed
    t.string('reason', 32); // why it was cancelled: rated, unsubscribed, erased, reopened, expired
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['status', 'due_at']);
  });
  await knex.schema.createTable('lead_alerts', (t) => {
    t.increments('id').primary();
    t.string('leads_key', 140).notNullable(); // the team whose leads get it, or '*' for the default list
    t.string('recipient', 320).notNullable(); // one lead: each lead's email is sent, retried and failed on its own
    t.string('survey_id', 36).notNullable().references('surveys.id');
    t.integer('followup_id').notNullable().references('followups.id');
    t.text('body').notNullable(); // JSON: the same facts as the webhook alert
    t.string('status', 16).notNullable(); // pending | sent | failed
    t.integer('batch_id'); // the alert whose email carries this one (a digest); null until gathered
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['status', 'due_at']);
    t.index(['leads_key', 'recipient', 'status']);
    t.index(['survey_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('lead_alerts');
  await knex.schema.dropTable('reminders');
  await knex.schema.alterTable('surveys', (t) => {
    t.dropColumn('reminded_at');
  });
}
