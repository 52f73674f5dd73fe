import type { Knex } from 'knex';
import { AppError } from '../shared/errors';
import { isPostgres } from '../shared/db';
import { queueEvents, type QueuedEvent } from '../rating-webhooks/queue';
import { alertBody, type AlertRating } from '../alerts/message';
import { queueLeadAlerts, type LeadAlert } from '../alerts/queue';

/*
 * The one writer of follow-ups and their events. A counted rating at or below ALERT_MAX_SCORE opens
 * its survey's one follow-up, in the rating's own transaction (ratings/repository.ts), so a low
 * rating and its follow-up commit together or not at all; a changed rating that is no longer low
 * resolves it as `recovered` by itself, and one that turns low again after a good one reopens it.
 * Leads change it through the API (service.ts → changeFollowup below).
 */

export const FOLLOWUP_STATUSES = ['open', 'in_progress', 'resolved'] as const;
export type FollowupStatus = (typeof FOLLOWUP_STATUSES)[number];
export const FOLLOWUP_OUTCOMES = ['contacted', 'recovered', 'no_action'] as const;
export type FollowupOutcome = (typeof FOLLOWUP_OUTCOMES)[number];

/** A survey's rating as it now counts: what follow-ups need of it. */
export type CountedRating = AlertRating & { previous: number | null; at: Date };

/**
 * Where alerts go: ALERT_WEBHOOK_URL, the team's leads by email (`leadsFor`, from the definitions
 * file; ALERT_DIGEST_MINUTES) and PUBLIC_URL for the follow-up's link.
 */
export type AlertTarget = {
  webhookUrl?: string;
  publicUrl: string;
  leadsFor?: (team: string | null) => LeadAlert['leads'] | null;
  digestMinutes?: number;
};

type Row = { id: number; survey_id: string; status: FollowupStatus; outcome: FollowupOutcome | null };

type EventRow = ReturnType<typeof event>;

/** The rating webhook receivers' copy of an event: `followup.<kind>`, with the follow-up's state after it. */
const hookEvent = (surveyId: string, e: EventRow): QueuedEvent => ({
  surveyId,
  at: e.created_at,
  body: {
    event: `followup.${e.kind}`,
    followup_id: e.followup_id,
    survey_id: surveyId,
    status: e.status,
    owner: e.owner,
    outcome: e.outcome,
    note: e.note,
    author: e.author,
    at: e.created_at.toISOString(),
  },
});

const event = (followupId: number, kind: string, f: { status: string; owner?: string | null; outcome?: string | null }, at: Date, author: string | null = null, note: string | null = null) => ({
  followup_id: followupId,
  kind,
  author,
  status: f.status,
  owner: f.owner ?? null,
  outcome: f.outcome ?? null,
  note,
  created_at: at,
});

/** Opens, recovers or reopens the follow-ups of these counted ratings (one per survey), in the rating's transaction. */
export async function followRatings(trx: Knex.Transaction, ratings: readonly CountedRating[], lowAtOrBelow: number, hookUrls: readonly string[], alert: AlertTarget): Promise<void> {
  // Only a rating that is low, or was low, can touch a follow-up: the others cost no query.
  const isLow = (score: number | null) => score !== null && score <= lowAtOrBelow;
  const rated = ratings.filter((r) => r.score !== null && (isLow(r.score) || isLow(r.previous)));
  if (rated.length === 0) return;
  const existing = new Map<string, Row>(
    (await trx('followups').whereIn('survey_id', rated.map((r) => r.surveyId)).select('id', 'survey_id', 'status', 'outcome')).map((r: Row) => [r.survey_id, r]),
  );
  const events: EventRow[] = [];
  const hooks: QueuedEvent[] = [];
  const alerts: QueuedEvent[] = [];
  const leadAlerts: LeadAlert[] = [];
  for (const r of rated) {
    const low = isLow(r.score);
    const f = existing.get(r.surveyId);
    if (!f) {
      if (!low) continue;
      const [opened] = await trx('followups')
        .insert({ survey_id: r.surveyId, status: 'open', score: r.score, agent_id: r.agentId, team: r.team, created_at: r.at, updated_at: r.at })
        .returning('id');
      const followupId: number = typeof opened === 'object' ? opened.id : opened;
      events.push(event(followupId, 'opened', { status: 'open' }, r.at));
      hooks.push(hookEvent(r.surveyId, events.at(-1)!));
      // One alert per follow-up and channel, when it opens: a later comment or score updates the follow-up, never alerts again.
      const body = alertBody(r, followupId, alert.publicUrl);
      if (alert.webhookUrl) alerts.push({ surveyId: r.surveyId, at: r.at, body });
      const leads = alert.leadsFor?.(r.team);
      if (leads) leadAlerts.push({ leads, surveyId: r.surveyId, followupId, body, at: r.at });
    } else if (!low && f.status !== 'resolved') {
      await trx('followups').where({ id: f.id }).update({ status: 'resolved', outcome: 'recovered', score: r.score, updated_at: r.at, resolved_at: r.at });
      events.push(event(f.id, 'recovered', { status: 'resolved', outcome: 'recovered' }, r.at));
      hooks.push(hookEvent(r.surveyId, events.at(-1)!));
    } else if (low && f.status === 'resolved' && !isLow(r.previous)) {
      // Low again after a good rating: the customer is unhappy again. (Low to lower after a lead resolved it changes nothing.)
      await trx('followups').where({ id: f.id }).update({ status: 'open', outcome: null, score: r.score, updated_at: r.at, resolved_at: null });
      events.push(event(f.id, 'reopened', { status: 'open' }, r.at));
      hooks.push(hookEvent(r.surveyId, events.at(-1)!));
    } else {
      await trx('followups').where({ id: f.id }).update({ score: r.score, updated_at: r.at });
    }
  }
  if (events.length) await trx('followup_events').insert(events);
  await queueEvents(trx, hookUrls, hooks);
  if (alert.webhookUrl) await queueEvents(trx, [alert.webhookUrl], alerts);
  await queueLeadAlerts(trx, leadAlerts, alert.digestMinutes ?? 0);
}

/** A lead's change: any of status, owner, outcome, and a note; `author` names who made it. */
export type FollowupChange = { status?: FollowupStatus; owner?: string | null; outcome?: FollowupOutcome; note?: string; author: string };

/**
 * Applies a lead's change and records it as one event, in one transaction: resolving needs an
 * outcome (and an outcome needs resolving); the first change by a lead is the follow-up's first
 * action. Answers false when there is no such follow-up.
 */
export async function changeFollowup(trx: Knex.Transaction, id: number, change: FollowupChange, now: Date, hookUrls: readonly string[]): Promise<boolean> {
  const query = trx('followups').where({ id }).first('id', 'survey_id', 'status', 'owner', 'outcome', 'first_action_at', 'resolved_at');
  const current = await (isPostgres(trx) ? query.forUpdate() : query);
  if (!current) return false;
  const status: FollowupStatus = change.status ?? (change.outcome ? 'resolved' : current.status === 'open' && change.owner ? 'in_progress' : current.status);
  if (change.outcome && status !== 'resolved') throw new AppError(400, 'invalid_change', 'An outcome is given when resolving.', [{ path: 'outcome', message: 'needs status resolved' }]);
  const outcome = status === 'resolved' ? (change.outcome ?? (current.status === 'resolved' ? current.outcome : null)) : null;
  if (status === 'resolved' && !outcome) throw new AppError(400, 'invalid_change', 'Say how it ended: contacted, recovered or no_action.', [{ path: 'outcome', message: 'is required to resolve' }]);
  const owner = change.owner !== undefined ? change.owner : current.owner;
  await trx('followups')
    .where({ id })
    .update({
      status,
      owner,
      outcome,
      updated_at: now,
      first_action_at: current.first_action_at ?? now,
      resolved_at: status !== 'resolved' ? null : current.status === 'resolved' ? current.resolved_at : now,
    });
  const onlyNote = change.status === undefined && change.owner === undefined && change.outcome === undefined;
  const recorded = event(id, onlyNote ? 'note' : 'changed', { status, owner, outcome }, now, change.author, change.note ?? null);
  await trx('followup_events').insert(recorded);
  await queueEvents(trx, hookUrls, [hookEvent(current.survey_id, recorded)]);
  return true;
}
