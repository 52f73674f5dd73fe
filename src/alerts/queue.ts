import type { Knex } from 'knex';
import { insertRows } from '../shared/statements';
import type { AlertBody } from './message';

/** A lead alert to queue: whose leads get it (`leads`, from surveys/definitions.ts leadsFor), and what it says. */
export type LeadAlert = { leads: { key: string; recipients: string[] }; surveyId: string; followupId: number; body: AlertBody; at: Date };

/**
 * Queues email alerts to leads in the caller's transaction (the rating that opened the follow-up
 * commits with them, or neither does). Each is due `digestMinutes` after it was made: 0 mails it
 * at once, more lets the worker gather the team's alerts of that time into one email (worker.ts).
 */
export async function queueLeadAlerts(trx: Knex.Transaction, alerts: readonly LeadAlert[], digestMinutes: number): Promise<void> {
  const rows = alerts.map((a) => {
    const due = new Date(a.at.getTime() + digestMinutes * 60_000);
    return [a.leads.key, JSON.stringify(a.leads.recipients), a.surveyId, a.followupId, JSON.stringify(a.body), 'pending', due, 0, a.at, a.at];
  });
  await insertRows(trx, 'lead_alerts', ['leads_key', 'recipients', 'survey_id', 'followup_id', 'body', 'status', 'due_at', 'attempts', 'created_at', 'updated_at'], rows);
}
