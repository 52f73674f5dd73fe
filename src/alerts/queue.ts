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
  // One row per lead: a relay that refuses one lead's address (a full mailbox) must not keep the alert from the others, nor send it to them twice.
  const rows = alerts.flatMap((a) => {
    const due = new Date(a.at.getTime() + digestMinutes * 60_000);
    const body = JSON.stringify(a.body);
    return a.leads.recipients.map((recipient) => [a.leads.key, recipient, a.surveyId, a.followupId, body, 'pending', due, 0, a.at, a.at]);
  });
  await insertRows(trx, 'lead_alerts', ['leads_key', 'recipient', 'survey_id', 'followup_id', 'body', 'status', 'due_at', 'attempts', 'created_at', 'updated_at'], rows);
}
