import type { Db } from '../shared/db';
import { toDate } from '../shared/db';
import type { FollowupStatus } from './state';

/** `unresolved`: open and in progress, the queue a lead works from. */
export type FollowupFilter = { status?: FollowupStatus | 'unresolved'; team?: string; agentId?: string; from?: Date; to?: Date; teams?: readonly string[] };
/** Keyset position in the queue: oldest first, by (created_at, id). */
export type FollowupCursor = { createdAt: number; id: number };

const iso = (v: unknown) => (v === null || v === undefined ? null : toDate(v).toISOString());

const item = (r: Record<string, unknown>) => ({
  id: r.id as number,
  survey_id: r.survey_id as string,
  status: r.status as FollowupStatus,
  owner: (r.owner as string) ?? null,
  outcome: (r.outcome as string) ?? null,
  score: r.score as number,
  agent_id: (r.agent_id as string) ?? null,
  team: (r.team as string) ?? null,
  ticket_id: (r.ticket_id as string) ?? null,
  agent_name: (r.agent_name as string) ?? null,
  created_at: iso(r.created_at),
  updated_at: iso(r.updated_at),
  first_action_at: iso(r.first_action_at),
  resolved_at: iso(r.resolved_at),
});

/** The queue, oldest first (the one waiting longest on top), a page after `after`. */
export async function listFollowups(db: Db, f: FollowupFilter, limit: number, after?: FollowupCursor) {
  const q = db('followups as f').join('surveys as s', 's.id', 'f.survey_id');
  if (f.status === 'unresolved') q.whereNot('f.status', 'resolved');
  else if (f.status) q.where('f.status', f.status);
  if (f.team) q.where('f.team', f.team);
  if (f.teams) q.whereIn('f.team', [...f.teams]); // a lead's teams
  if (f.agentId) q.where('f.agent_id', f.agentId);
  if (f.from) q.where('f.created_at', '>=', f.from);
  if (f.to) q.where('f.created_at', '<', f.to);
  if (after) {
    const at = new Date(after.createdAt);
    q.andWhere((w) => w.where('f.created_at', '>', at).orWhere((x) => x.where('f.created_at', '=', at).andWhere('f.id', '>', after.id)));
  }
  const rows = await q
    .orderBy([{ column: 'f.created_at', order: 'asc' }, { column: 'f.id', order: 'asc' }])
    .limit(limit + 1)
    .select('f.*', 's.ticket_id', 's.agent_name');
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(item), next: rows.length > limit && last ? { createdAt: toDate(last.created_at).getTime(), id: last.id as number } : null };
}

/** One follow-up with its events (notes among them), oldest first. */
export async function findFollowup(db: Db, id: number) {
  const row = await db('followups as f').join('surveys as s', 's.id', 'f.survey_id').where('f.id', id).first('f.*', 's.ticket_id', 's.agent_name');
  if (!row) return undefined;
  const events = await db('followup_events').where({ followup_id: id }).orderBy('id').select('kind', 'author', 'status', 'owner', 'outcome', 'note', 'created_at');
  return {
    ...item(row),
    events: events.map((e) => ({ kind: e.kind, author: e.author ?? null, status: e.status, owner: e.owner ?? null, outcome: e.outcome ?? null, note: e.note ?? null, at: iso(e.created_at) })),
  };
}

/** The notes of these follow-ups with their author and time, oldest first, by follow-up id. */
export async function notesOf(db: Db, ids: readonly number[]): Promise<Map<number, Array<{ author: string | null; note: string; at: string | null }>>> {
  const notes = new Map<number, Array<{ author: string | null; note: string; at: string | null }>>();
  if (ids.length === 0) return notes;
  const rows = await db('followup_events').whereIn('followup_id', ids).whereNotNull('note').orderBy('id').select('followup_id', 'author', 'note', 'created_at');
  for (const r of rows) notes.set(r.followup_id, [...(notes.get(r.followup_id) ?? []), { author: r.author ?? null, note: r.note, at: iso(r.created_at) }]);
  return notes;
}
