import type { Knex } from 'knex';

/** The wording every survey was sent with, as sent before survey definitions existed. */
const ORIGINAL_WORDING = {
  locale: 'en',
  subject: 'How satisfied were you with the handling of your issue?',
  intro: 'Your support request has been closed. One quick question about how it was handled:',
  question: 'How satisfied were you with the handling of your issue?',
  labels: { 1: 'Very dissatisfied', 2: 'Dissatisfied', 3: 'Neutral', 4: 'Satisfied', 5: 'Very satisfied' },
  thanks: 'Thank you! Your rating has been recorded.',
  comment_prompt: 'Anything you would like to add? (optional)',
  one_click: 'Your rating takes one click. You can add a comment afterwards if you like.',
};

/**
 * Each survey keeps the question, variant and exact wording it was sent with, so a later edit
 * of the definitions file never rewrites history. Earlier surveys get the wording they were sent with.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('surveys', (t) => {
    t.string('question_id', 64).notNullable().defaultTo('handling');
    t.string('variant', 64);
    t.text('wording');
  });
  await knex('surveys').update({ wording: JSON.stringify(ORIGINAL_WORDING) });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('surveys', (t) => {
    t.dropColumn('wording');
    t.dropColumn('variant');
    t.dropColumn('question_id');
  });
}
