import type { Db } from '../shared/db';

/**
 * opt_outs and unsubscribe_tokens hold keyed hashes of addresses (shared/address-hash.ts), never
 * an address: an unsubscribe link needs only to opt out "the address it was sent to".
 */
export type UnsubscribeLink = { emailHash: string; surveyId: string | null };

export async function linkForToken(db: Db, tokenHash: string): Promise<UnsubscribeLink | undefined> {
  const row = await db('unsubscribe_tokens').where({ token_hash: tokenHash }).first('email_hash', 'survey_id');
  return row && { emailHash: row.email_hash, surveyId: row.survey_id ?? null };
}

export async function isOptedOut(db: Db, emailHash: string): Promise<boolean> {
  return Boolean(await db('opt_outs').where({ email_hash: emailHash }).first('email_hash'));
}

export async function optOut(db: Db, emailHash: string, now: Date): Promise<void> {
  await db('opt_outs').insert({ email_hash: emailHash, created_at: now }).onConflict('email_hash').ignore();
}

export async function optIn(db: Db, emailHash: string): Promise<void> {
  await db('opt_outs').where({ email_hash: emailHash }).delete();
}
