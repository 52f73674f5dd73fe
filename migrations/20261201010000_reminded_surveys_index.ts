import type { Knex } from 'knex';

/**
 * The reports' reminder figures (reports/repository.ts remindersByAgent) count the reminded surveys
 * of a period. Without this index they read every survey of the period to find them: 2.9 s of a
 * 3-year agents report at 500,000 surveys (BENCHMARKS.md). A partial index holds the reminded ones
 * only, so an install without reminders pays nothing for it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX surveys_reminded_closed_at ON surveys (closed_at) WHERE reminded_at IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX surveys_reminded_closed_at');
}
