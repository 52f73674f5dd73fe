import type { Knex } from 'knex';
import type { Db } from '../shared/db';
import type { Ledger } from '../reports/ledger';
import { cancelUnsentSurveys } from '../surveys/service';

/** What stands in for erased identities and comments. A comment stays non-empty so report counts stay exact. */
export const ERASED_EMAIL = 'erased@erased.invalid';
export const ERASED_COMMENT = '[erased]';

export type Erasure = { surveys: number; comments: number; rating_events: number; opt_outs: number; unsubscribe_tokens: number };

/** Blanks identity and comment text of the chosen surveys; scores, agents and dates stay for the reports. */
async function eraseSurveys(trx: Knex.Transaction, ledger: Ledger, ids: Knex.QueryBuilder, now: Date): Promise<Omit<Erasure, 'opt_outs' | 'unsubscribe_tokens'>> {
  // No more mail to a blanked address, and no links left that could add new comments. An email a
  // worker is sending right now is its worker's to end: it cannot be recalled, and if it is to be
  // retried, the worker finds the survey erased and cancels it then (delivery/worker.ts).
  const waiting = await trx('outbox').whereIn('survey_id', ids.clone()).andWhere('status', 'pending').pluck('survey_id');
  await cancelUnsentSurveys(trx, ledger, waiting, now);
  await trx('survey_tokens').whereIn('survey_id', ids.clone()).delete();
  const comments = await trx('surveys').whereIn('id', ids.clone()).whereNotNull('comment').update({ comment: ERASED_COMMENT });
  const ratingEvents = await trx('rating_events').whereIn('survey_id', ids.clone()).whereNotNull('comment').update({ comment: ERASED_COMMENT });
  // Queued or delivered rating webhooks carry the comment text.
  for (const hook of await trx('hook_outbox').whereIn('survey_id', ids.clone()).select('id', 'body')) {
    const body = JSON.parse(hook.body);
    if (body.comment) await trx('hook_outbox').where({ id: hook.id }).update({ body: JSON.stringify({ ...body, comment: ERASED_COMMENT }) });
  }
  // SMTP errors often quote the recipient, so delivery errors go too.
  await trx('outbox').whereIn('survey_id', ids.clone()).update({ last_error: null });
  const surveys = await trx('surveys')
    .whereIn('id', ids.clone())
    .update({ customer_email: ERASED_EMAIL, customer_name: null, subject: null, thread_message_id: null, last_error: null });
  return { surveys, comments, rating_events: ratingEvents };
}

/**
 * Erases one customer (by email, case-insensitive) everywhere in one transaction: their
 * surveys' identity and comments, their opt-out and unsubscribe tokens. Answers what it erased.
 */
export async function eraseCustomer(db: Db, ledger: Ledger, email: string, now: Date): Promise<Erasure> {
  const normal = email.trim().toLowerCase();
  return db.transaction(async (trx) => {
    const ids = trx('surveys').whereRaw('lower(customer_email) = ?', [normal]).select('id');
    const erased = await eraseSurveys(trx, ledger, ids, now);
    const optOuts = await trx('opt_outs').where({ email: normal }).delete();
    const tokens = await trx('unsubscribe_tokens').where({ email: normal }).delete();
    return { ...erased, opt_outs: optOuts, unsubscribe_tokens: tokens };
  });
}

/** RETENTION_DAYS: erases identity and comments of every survey closed before `cutoff`. */
export async function eraseClosedBefore(db: Db, ledger: Ledger, cutoff: Date, now: Date): Promise<Erasure> {
  return db.transaction(async (trx) => {
    const ids = trx('surveys').where('closed_at', '<', cutoff).andWhereNot('customer_email', ERASED_EMAIL).select('id');
    return { ...(await eraseSurveys(trx, ledger, ids, now)), opt_outs: 0, unsubscribe_tokens: 0 };
  });
}
