import type { Knex } from 'knex';
import { toDate, type Db } from '../shared/db';
import type { Role, User } from './users';

const toUser = (r: Record<string, unknown>): User => ({
  id: r.id as number,
  email: r.email as string,
  name: r.name as string,
  role: r.role as Role,
  teams: JSON.parse((r.teams as string) ?? '[]') as string[],
  agent_id: (r.agent_id as string) ?? null,
  created_at: toDate(r.created_at).toISOString(),
  updated_at: toDate(r.updated_at).toISOString(),
});

export async function listUsers(db: Db): Promise<User[]> {
  return (await db('users').orderBy('email')).map(toUser);
}

export async function findUser(db: Db | Knex.Transaction, where: { id: number } | { email: string }): Promise<User | undefined> {
  const row = await db('users').where(where).first();
  return row && toUser(row);
}

export async function insertUser(trx: Knex.Transaction, u: Omit<User, 'id' | 'created_at' | 'updated_at'>, now: Date): Promise<number> {
  const [inserted] = await trx('users').insert({ email: u.email, name: u.name, role: u.role, teams: JSON.stringify(u.teams), agent_id: u.agent_id, created_at: now, updated_at: now }).returning('id');
  return typeof inserted === 'object' ? inserted.id : inserted;
}

export async function updateUser(trx: Knex.Transaction, id: number, u: Omit<User, 'id' | 'created_at' | 'updated_at'>, now: Date): Promise<void> {
  await trx('users').where({ id }).update({ email: u.email, name: u.name, role: u.role, teams: JSON.stringify(u.teams), agent_id: u.agent_id, updated_at: now });
}

/** Signs a user out everywhere: their sessions and unused sign-in links go. */
export async function endSessionsOf(trx: Knex.Transaction, userId: number): Promise<void> {
  await trx('sessions').where({ user_id: userId }).delete();
  await trx('signin_links').where({ user_id: userId }).delete();
}

export async function deleteUser(trx: Knex.Transaction, id: number): Promise<void> {
  await endSessionsOf(trx, id);
  await trx('users').where({ id }).delete();
}
