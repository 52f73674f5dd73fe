import type { Db } from '../shared/db';

export async function emailForToken(db: Db, tokenHash: string): Promise<string | undefined> {
  const row = await db('unsubscribe_tokens').where({ token_hash: tokenHash }).first('email');
  return row?.email;
}

export async function isOptedOut(db: Db, email: string): Promise<boolean> {
  return Boolean(await db('opt_outs').where({ email }).first('email'));
}

export async function optOut(db: Db, email: string, now: Date): Promise<void> {
  await db('opt_outs').insert({ email, created_at: now }).onConflict('email').ignore();
}

export async function optIn(db: Db, email: string): Promise<void> {
  await db('opt_outs').where({ email }).delete();
}
