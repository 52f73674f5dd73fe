import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { AppError, isUniqueViolation } from '../shared/errors';
import { record } from '../audit/record';
import * as repo from './repository';
import { completeUser, type NewUser, type User, type UserChange } from './users';

export type UserService = ReturnType<typeof createUserService>;
/** Who made a change, for the audit trail: a user's email, `admin-token` or `cli`, and from where. */
export type Actor = { actor: string; ip?: string | null };

/**
 * Users and roles (POST/GET/PATCH/DELETE /api/users and `npm run users`). Every change is
 * recorded in the audit trail in its own transaction, and a change of role, teams or agent id signs
 * the user out everywhere: what they may see is decided again at their next sign-in.
 */
export function createUserService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;
  const conflict = (email: string) => new AppError(409, 'user_exists', `A user with the email ${email} exists.`);

  return {
    list: () => repo.listUsers(db),
    get: (id: number) => repo.findUser(db, { id }),
    byEmail: (email: string) => repo.findUser(db, { email: email.trim().toLowerCase() }),

    async add(input: NewUser, by: Actor): Promise<User> {
      const now = clock.now();
      try {
        const id = await db.transaction(async (trx) => {
          const id = await repo.insertUser(trx, { email: input.email, name: input.name, role: input.role, teams: input.teams ?? [], agent_id: input.agent_id ?? null }, now);
          await record(trx, { ...by, action: 'user_added', subject: input.email, detail: { role: input.role, teams: input.teams ?? [], agent_id: input.agent_id ?? null } }, now);
          return id;
        });
        return (await repo.findUser(db, { id }))!;
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(input.email);
        throw err;
      }
    },

    async change(id: number, change: UserChange, by: Actor): Promise<User> {
      const now = clock.now();
      try {
        await db.transaction(async (trx) => {
          const current = await repo.findUser(trx, { id });
          if (!current) throw new AppError(404, 'not_found');
          const next = { email: change.email ?? current.email, name: change.name ?? current.name, role: change.role ?? current.role, teams: change.teams ?? (change.role && change.role !== 'lead' ? [] : current.teams), agent_id: change.agent_id !== undefined ? change.agent_id : change.role && change.role !== 'agent' ? null : current.agent_id };
          const fits = completeUser.safeParse(next);
          if (!fits.success) throw new AppError(400, 'invalid_user', 'That change leaves a role without what it needs.', fits.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
          await repo.updateUser(trx, id, next, now);
          const access = next.role !== current.role || JSON.stringify(next.teams) !== JSON.stringify(current.teams) || next.agent_id !== current.agent_id || next.email !== current.email;
          if (access) await repo.endSessionsOf(trx, id);
          await record(trx, { ...by, action: 'user_changed', subject: next.email, detail: { changed: Object.keys(change), signed_out: access, role: next.role, teams: next.teams, agent_id: next.agent_id } }, now);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(change.email ?? '');
        throw err;
      }
      return (await repo.findUser(db, { id }))!;
    },

    async remove(id: number, by: Actor): Promise<void> {
      const now = clock.now();
      await db.transaction(async (trx) => {
        const current = await repo.findUser(trx, { id });
        if (!current) throw new AppError(404, 'not_found');
        await repo.deleteUser(trx, id);
        await record(trx, { ...by, action: 'user_removed', subject: current.email, detail: { role: current.role } }, now);
      });
    },
  };
}
