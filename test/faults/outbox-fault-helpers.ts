import type { Knex } from 'knex';
import { ratingLinks } from '../helpers/smtp';
import { validWith } from '../surveys/fixtures';
import { startFaultySmtp, type Arrived } from './faulty-smtp';

/**
 * Shared by the fault cases of the two newer outboxes, lead alerts (src/alerts/) and reminders
 * (src/reminders/): the relay (faulty-smtp.ts) with its messages by kind, what the cases read out of
 * them (rating links of survey emails, the alerts of a digest), and the definitions file that names the leads.
 */

/** The leads of the fault cases: billing and shipping have their own, every other team (and none) goes to desk. */
export const LEADS = {
  billing: 'ana@leads.example',
  shipping: 'sam@leads.example',
  default: 'desk@leads.example',
} as const;

/** The survey definitions file (test/surveys/fixtures.ts VALID_LINES) with those leads. */
export const surveysWithLeads = () =>
  validWith({}, ['teams:', '  billing:', `    leads: [${LEADS.billing}]`, '  shipping:', `    leads: [${LEADS.shipping}]`, `default_leads: [${LEADS.default}]`]);

/** The kind of a message, by its Message-ID (src/delivery, src/reminders, src/alerts). */
export type Kind = 'survey' | 'reminder' | 'alert' | 'other';
export const kindOf = (messageId: string): Kind => (/^<(survey|reminder|alert)\./.exec(messageId)?.[1] as Kind | undefined) ?? 'other';

/** The fault cases' relay: test/faults/faulty-smtp.ts, and `ofKind`, the messages of one kind. */
export async function startRelay(options: { replyDelayMs?: number } = {}) {
  const smtp = await startFaultySmtp(options);
  return { ...smtp, ofKind: (kind: Kind) => smtp.arrived.filter((m) => kindOf(m.messageId) === kind) };
}

export type Relay = Awaited<ReturnType<typeof startRelay>>;

/** The token of a survey email's rating links (src/surveys/tokens.ts), read from the email as a person's mail client shows it. */
export async function ratingToken(message: Arrived): Promise<string> {
  const links = ratingLinks(await message.parsed);
  if (links.length !== 5) throw new Error(`expected 5 rating links in ${message.messageId}, found ${links.length}`);
  return new URL(links[0]).pathname.split('/')[2];
}

/** The follow-up ids an alert email announces (each alert's "Follow-up: …/followups#f<id>" line). */
export async function followupsIn(message: Arrived): Promise<number[]> {
  return [...((await message.parsed).text ?? '').matchAll(/\/followups#f(\d+)\b/g)].map((m) => Number(m[1]));
}

/** Status → number of rows, for the outboxes the two cases read. */
export async function statusesOf(db: Knex, table: 'surveys' | 'outbox' | 'reminders' | 'lead_alerts'): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await db(table).groupBy('status').select('status').count({ n: '*' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** How many rows of `table` are pending. */
export const pendingIn = async (db: Knex, table: 'outbox' | 'reminders' | 'lead_alerts') => (await statusesOf(db, table)).pending ?? 0;
