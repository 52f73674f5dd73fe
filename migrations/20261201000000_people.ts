import type { Knex } from 'knex';

/**
 * The people who read the numbers (people/): users with a role (admin, lead for some teams, agent
 * for one agent id), their sign-in links (one use, 15 minutes; only a hash kept) and server-side
 * sessions (only a hash of the cookie kept, with its CSRF token), and the audit trail (audit/):
 * who did what, when, from where.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.increments('id').primary();
    t.string('email', 320).notNullable().unique(); // lowercased
    t.string('name', 200).notNullable();
    t.string('role', 12).notNullable(); // admin | lead | agent
    t.text('teams').notNullable().defaultTo('[]'); // JSON array: a lead's teams
    t.string('agent_id', 128); // an agent's own agent id
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('signin_links', (t) => {
    t.string('token_hash', 64).primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['user_id']);
  });
  await knex.schema.createTable('sessions', (t) => {
    t.string('id_hash', 64).primary();
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('csrf', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable(); // the absolute end
    t.index(['user_id']);
  });
  await knex.schema.createTable('audit_events', (t) => {
    t.increments('id').primary();
    t.timestamp('at', { useTz: true }).notNullable();
    t.string('actor', 320).notNullable(); // a user's email, or how a credential was presented (admin-token, cli)
    t.string('action', 40).notNullable();
    t.string('subject', 320); // what it was about: a user's email, an export's path, …
    t.text('detail'); // JSON
    t.string('ip', 64);
    t.index(['at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['audit_events', 'sessions', 'signin_links', 'users']) await knex.schema.dropTable(table);
}
