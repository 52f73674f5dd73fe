import type { Knex } from 'knex';
import * as coreSurveyLoop from './20261128000000_core_survey_loop';
import * as reportCounters from './20261128010000_report_counters';
import * as surveyWording from './20261128020000_survey_wording';
import * as whomToSurvey from './20261128030000_whom_to_survey';
import * as ratingWebhooks from './20261128040000_rating_webhooks';
import * as reportRollup from './20261128050000_report_rollup';
import * as outboxRequestId from './20261128060000_outbox_request_id';
import * as ratingAttempts from './20261130010000_rating_attempts';
import * as creditedBy from './20261130020000_credited_by';
import * as webhookReceipts from './20261130030000_webhook_receipts';
import * as hashedAddresses from './20261130050000_hashed_addresses';
import * as followups from './20261130060000_followups';
import * as remindersAndLeadAlerts from './20261130070000_reminders_and_lead_alerts';
import * as people from './20261201000000_people';
import * as remindedSurveysIndex from './20261201010000_reminded_surveys_index';
import * as spanCounters from './20261201020000_span_counters';
import * as agentEmails from './20261201030000_agent_emails';
import type { MigrationContext } from './context';

export type { MigrationContext } from './context';

type Migration = { up(knex: Knex, context: MigrationContext): Promise<void>; down(knex: Knex, context: MigrationContext): Promise<void> };

/**
 * Migrations are listed here rather than discovered on disk, so the same list
 * runs from TypeScript (tests) and from the compiled build (npm start). Append new ones.
 */
const migrations: Array<[string, Migration]> = [
  ['20261128000000_core_survey_loop', coreSurveyLoop],
  ['20261128010000_report_counters', reportCounters],
  ['20261128020000_survey_wording', surveyWording],
  ['20261128030000_whom_to_survey', whomToSurvey],
  ['20261128040000_rating_webhooks', ratingWebhooks],
  ['20261128050000_report_rollup', reportRollup],
  ['20261128060000_outbox_request_id', outboxRequestId],
  ['20261130010000_rating_attempts', ratingAttempts],
  ['20261130020000_credited_by', creditedBy],
  ['20261130030000_webhook_receipts', webhookReceipts],
  ['20261130050000_hashed_addresses', hashedAddresses],
  ['20261130060000_followups', followups],
  ['20261130070000_reminders_and_lead_alerts', remindersAndLeadAlerts],
  ['20261201000000_people', people],
  ['20261201010000_reminded_surveys_index', remindedSurveysIndex],
  ['20261201020000_span_counters', spanCounters],
  ['20261201030000_agent_emails', agentEmails],
];

/** The migrations, each given `context` (what a migration needs from the configuration: the address hash). */
export function migrationSourceWith(context: MigrationContext): Knex.MigrationSource<[string, Migration]> {
  return {
    getMigrations: async () => migrations,
    getMigrationName: ([name]) => name,
    getMigration: async ([, migration]) => ({ up: (knex: Knex) => migration.up(knex, context), down: (knex: Knex) => migration.down(knex, context) }),
  };
}

/** Without the configuration: enough for a database that holds no addresses to hash yet (and for listing). */
export const migrationSource = migrationSourceWith({});
