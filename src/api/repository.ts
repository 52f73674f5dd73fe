import type { Db } from '../shared/db';
import { toDate } from '../shared/db';
import { ratingHistory } from '../ratings/repository';
import { attemptsOf } from '../ratings/attempts';

export type SurveyFilter = { ticketId?: string; status?: string; agentId?: string; from?: Date; to?: Date };
export type Cursor = { closedAt: number; id: string };

const iso = (v: unknown) => (v === null || v === undefined ? null : toDate(v).toISOString());

/** One survey as the API shows it. */
export function surveyItem(r: Record<string, unknown>) {
  return {
    id: r.id as string,
    source: r.source as string,
    ticket_id: r.ticket_id as string,
    status: r.status as string,
    suppression_reason: (r.suppression_reason as string) ?? null,
    customer_email: r.customer_email as string,
    agent: r.agent_id ? { id: r.agent_id as string, name: (r.agent_name as string) ?? null } : null,
    /** How the agent was chosen (README "Agent credit"): last_reply, closer, assignee or payload; null without an agent. */
    credited_by: (r.credited_by as string) ?? null,
    team: (r.team as string) ?? null,
    brand: (r.brand as string) ?? null,
    question_id: r.question_id as string,
    variant: (r.variant as string) ?? null,
    closed_at: iso(r.closed_at),
    sent_at: iso(r.sent_at),
    score: (r.score as number) ?? null,
    comment: (r.comment as string) ?? null,
    rated_at: iso(r.rated_at),
  };
}

/** Newest closed first; keyset-paginated on (closed_at, id) so pages stay stable while rows arrive. */
export async function listSurveys(db: Db, f: SurveyFilter, limit: number, after?: Cursor) {
  const q = db('surveys');
  if (f.ticketId) q.where('ticket_id', f.ticketId);
  if (f.status) q.where('status', f.status);
  if (f.agentId) q.where('agent_id', f.agentId);
  if (f.from) q.where('closed_at', '>=', f.from);
  if (f.to) q.where('closed_at', '<', f.to);
  if (after) {
    const at = new Date(after.closedAt);
    q.andWhere((w) => w.where('closed_at', '<', at).orWhere((x) => x.where('closed_at', '=', at).andWhere('id', '<', after.id)));
  }
  const rows = await q.orderBy([{ column: 'closed_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1).select('*');
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(surveyItem),
    next: rows.length > limit && last ? ({ closedAt: toDate(last.closed_at).getTime(), id: last.id }) : null,
  };
}

export async function surveyDetail(db: Db, id: string) {
  const row = await db('surveys').where({ id }).first();
  if (!row) return undefined;
  const outbox = await db('outbox').where({ survey_id: id }).first('status', 'attempts', 'due_at', 'last_error');
  const history = await ratingHistory(db, id);
  const attempts = await attemptsOf(db, id);
  const opens = await db('link_events').where({ survey_id: id }).orderBy('id').select('kind', 'score', 'created_at');
  return {
    ...surveyItem(row),
    last_error: row.last_error ?? null,
    delivery: outbox ? { status: outbox.status, attempts: outbox.attempts, due_at: iso(outbox.due_at), last_error: outbox.last_error ?? null } : null,
    rating_history: history.map((h) => ({ kind: h.kind, score: h.score ?? null, comment: h.comment ?? null, at: iso(h.created_at) })),
    // Every rating POST and what the scanner rules made of it, beside the link opens they read.
    rating_attempts: attempts.map((a) => ({
      source: a.source,
      score: a.score ?? null,
      status: a.status,
      reason: a.reason ?? null,
      visible_ms: a.visible_ms ?? null,
      interacted: a.interacted === null || a.interacted === undefined ? null : Boolean(a.interacted),
      at: iso(a.created_at),
      decided_at: iso(a.decided_at),
    })),
    link_events: opens.map((e) => ({ kind: e.kind, score: e.score ?? null, at: iso(e.created_at) })),
  };
}
