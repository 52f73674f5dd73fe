import { percent } from './stats';

/**
 * What the reminder (REMINDER_AFTER_HOURS) added, for one agent or a whole report: `reminders_sent`
 * (surveys reminded), `responses_after_reminder` (their counted ratings first given after the
 * reminder went out) and `responses_to_first_email` (all other responses), with each one's rate:
 * the first email's over the surveys sent, the reminder's over the reminders sent. Percentages with
 * two decimals, null when nothing was sent.
 */
export type ReminderFigures = {
  reminders_sent: number;
  responses_to_first_email: number;
  first_email_response_rate: number | null;
  responses_after_reminder: number;
  reminder_response_rate: number | null;
};

export function reminderFigures(sent: number, responses: number, reminders: { reminded: number; afterReminder: number } | undefined): ReminderFigures {
  const reminded = reminders?.reminded ?? 0;
  const after = reminders?.afterReminder ?? 0;
  const first = responses - after;
  return {
    reminders_sent: reminded,
    responses_to_first_email: first,
    first_email_response_rate: sent ? percent(first / sent) : null,
    responses_after_reminder: after,
    reminder_response_rate: reminded ? percent(after / reminded) : null,
  };
}
