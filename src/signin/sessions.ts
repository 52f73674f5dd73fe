import crypto from 'node:crypto';
import type { Db } from '../shared/db';
import { toDate } from '../shared/db';
import type { Role } from '../people/users';

/** Sign-in links and sessions keep only a SHA-256 of their secret: a copy of the database signs nobody in. */
export const hashSecret = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');
export const newSecret = () => crypto.randomBytes(32).toString('base64url');
const SECRET = /^[A-Za-z0-9_-]{43}$/;
export const looksLikeSecret = (value: unknown): value is string => typeof value === 'string' && SECRET.test(value);

/** Who is signed in on a request, and what they may see: a lead's teams, an agent's own agent id. */
export type Viewer = { userId: number; email: string; name: string; role: Role; teams: string[]; agentId: string | null; csrf: string };

export type SessionTimes = { idleMinutes: number; maxHours: number };

/** A fresh sign-in link for a user, valid `minutes`; answers the link's secret (only its hash is stored). */
export async function createLink(db: Db, userId: number, now: Date, minutes: number): Promise<string> {
  const token = newSecret();
  await db('signin_links').insert({ token_hash: hashSecret(token), user_id: userId, created_at: now, expires_at: new Date(now.getTime() + minutes * 60_000) });
  return token;
}

/** How many sign-in links a user was sent since `since`. */
export async function linksSince(db: Db, userId: number, since: Date): Promise<number> {
  const row = await db('signin_links').where({ user_id: userId }).andWhere('created_at', '>', since).count<{ n: number | string }[]>({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/** Opens a session for a user, in `db` (a transaction where one is running); answers its secret (only its hash is stored). */
export async function openSession(db: Db, userId: number, now: Date, times: SessionTimes): Promise<string> {
  const session = newSecret();
  await db('sessions').insert({
    id_hash: hashSecret(session),
    user_id: userId,
    csrf: newSecret(),
    created_at: now,
    last_seen_at: now,
    expires_at: new Date(now.getTime() + times.maxHours * 3_600_000),
  });
  return session;
}

/**
 * Uses a sign-in link, once: in one transaction, marks it used (one guarded UPDATE: only if unused
 * and unexpired) and opens a session for its user. Answers the session's secret and the user's id,
 * or null (unknown, used or expired link: nothing changes).
 */
export async function useLink(db: Db, token: string, now: Date, times: SessionTimes): Promise<{ session: string; userId: number } | null> {
  return db.transaction(async (trx) => {
    const [link] = await trx('signin_links')
      .where({ token_hash: hashSecret(token) })
      .whereNull('used_at')
      .andWhere('expires_at', '>', now)
      .update({ used_at: now }, ['user_id']);
    if (!link) return null; // unknown, expired, or another request used it first
    return { session: await openSession(trx, link.user_id as number, now, times), userId: link.user_id as number };
  });
}

/**
 * The viewer of a session cookie's secret, or null when it is unknown, idle longer than
 * SESSION_IDLE_MINUTES or past SESSION_MAX_HOURS (then it is deleted). A live session's last
 * activity moves forward at most once a minute (no write per request).
 */
export async function viewerOf(db: Db, session: string, now: Date, times: SessionTimes): Promise<Viewer | null> {
  const idHash = hashSecret(session);
  const row = await db('sessions as s').join('users as u', 'u.id', 's.user_id').where('s.id_hash', idHash).first('s.csrf', 's.last_seen_at', 's.expires_at', 'u.id', 'u.email', 'u.name', 'u.role', 'u.teams', 'u.agent_id');
  if (!row) return null;
  const lastSeen = toDate(row.last_seen_at).getTime();
  if (toDate(row.expires_at) <= now || lastSeen + times.idleMinutes * 60_000 <= now.getTime()) {
    await db('sessions').where({ id_hash: idHash }).delete();
    return null;
  }
  if (now.getTime() - lastSeen >= 60_000) await db('sessions').where({ id_hash: idHash }).update({ last_seen_at: now });
  return { userId: row.id, email: row.email, name: row.name, role: row.role, teams: JSON.parse(row.teams ?? '[]'), agentId: row.agent_id ?? null, csrf: row.csrf };
}

export const endSession = (db: Db, session: string) => db('sessions').where({ id_hash: hashSecret(session) }).delete();

/** Deletes sessions past their end and links past theirs (the hourly sweep, main.ts); answers how many. */
export async function sweep(db: Db, now: Date, times: SessionTimes): Promise<number> {
  const idleCutoff = new Date(now.getTime() - times.idleMinutes * 60_000);
  const sessions = await db('sessions').where('expires_at', '<=', now).orWhere('last_seen_at', '<=', idleCutoff).delete();
  const links = await db('signin_links').where('expires_at', '<=', now).delete();
  return sessions + links;
}
