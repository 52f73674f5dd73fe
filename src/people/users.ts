import { z } from 'zod';
import { ONE_LINE } from '../shared/validation';

/*
 * Users and roles. An admin sees and does everything (users, erasure); a lead reads the reports,
 * comments and follow-ups of the teams listed for them; an agent reads their own ratings (AGENT_VIEW).
 */
export const ROLES = ['admin', 'lead', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export type User = { id: number; email: string; name: string; role: Role; teams: string[]; agent_id: string | null; created_at: string; updated_at: string };

const oneLine = (max: number) => z.string().trim().min(1, 'must not be empty').max(max).regex(ONE_LINE, 'must not contain control characters');
const team = oneLine(128);

const fields = {
  email: z.string().trim().toLowerCase().max(320).email('must be an email address'),
  name: oneLine(200),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  teams: z.array(team).max(100).optional(),
  agent_id: oneLine(128).nullable().optional(),
};

/** What a role needs: a lead some teams, an agent an agent id; an admin neither. */
function roleFits(u: { role?: Role; teams?: string[]; agent_id?: string | null }, ctx: z.RefinementCtx) {
  if (u.role === 'lead' && !u.teams?.length) ctx.addIssue({ code: 'custom', path: ['teams'], message: 'a lead needs at least one team' });
  if (u.role === 'agent' && !u.agent_id) ctx.addIssue({ code: 'custom', path: ['agent_id'], message: 'an agent needs their agent_id' });
  if (u.role === 'admin' && (u.teams?.length || u.agent_id)) ctx.addIssue({ code: 'custom', path: ['role'], message: 'an admin has no teams or agent_id (they see everything)' });
  if (u.role === 'lead' && u.agent_id) ctx.addIssue({ code: 'custom', path: ['agent_id'], message: 'only an agent has an agent_id' });
  if (u.role === 'agent' && u.teams?.length) ctx.addIssue({ code: 'custom', path: ['teams'], message: 'only a lead has teams' });
}

export const newUser = z.object(fields).strict().superRefine(roleFits);
export type NewUser = z.infer<typeof newUser>;

export const userChange = z.object({ ...fields, email: fields.email.optional(), name: fields.name.optional(), role: fields.role.optional() }).strict();
export type UserChange = z.infer<typeof userChange>;

/** A change applied to a user must leave a user whose role fits (checked on the result, not the patch). */
export const completeUser = z.object({ role: fields.role, teams: z.array(z.string()), agent_id: z.string().nullable() }).superRefine(roleFits);
