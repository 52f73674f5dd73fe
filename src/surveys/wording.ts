/**
 * The words the customer sees, kept in one place. A later release makes them
 * configurable per brand, locale and variant; until then this is the question.
 */
export const wording = Object.freeze({
  subject: 'How satisfied were you with the handling of your issue?',
  question: 'How satisfied were you with the handling of your issue?',
  intro: 'Your support request has been closed. One quick question about how it was handled:',
  oneClick: 'Your rating takes one click. You can add a comment afterwards if you like.',
  thanks: 'Thank you! Your rating has been recorded.',
  commentPrompt: 'Anything you would like to add? (optional)',
  labels: Object.freeze({
    1: 'Very dissatisfied',
    2: 'Dissatisfied',
    3: 'Neutral',
    4: 'Satisfied',
    5: 'Very satisfied',
  } as Record<number, string>),
});

export const SCORES = [1, 2, 3, 4, 5] as const;
export type Score = (typeof SCORES)[number];
export const isScore = (n: number): n is Score => Number.isInteger(n) && n >= 1 && n <= 5;
