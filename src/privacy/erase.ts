import type { Knex } from 'knex';
import { isPostgres, type Db } from '../shared/db';
import type { Ledger } from '../surveys/counters/ledger';
import type { AddressHash } from '../shared/address-hash';
import { cancelUnsentSurveys, ERASED_COMMENT, ERASED_EMAIL, eraseSurveyText } from '../surveys/state';
import { removeMailOf } from '../delivery/mail-files';
import { ALERT_EVENT, erasedAlert } from '../alerts/message';

type SurveysErased = { surveys: number; comments: number; rating_events: number };
/** `opt_out_kept`: the customer had opted out, and that stays (as a keyed hash of the address). */
export type Erasure = SurveysErased & { unsubscribe_tokens: number; mail_files: number; opt_out_kept: boolean };

/** What erasing a customer touches beyond the database's surveys: the address hash (PRIVACY_KEY) and MAIL_DIR. */
export type ErasureDeps = { db: Db; ledger: Ledger; addressHash: AddressHash; mailDir: string };

/** Blanks identity and comment text of the chosen surveys; scores, agents and dates stay for the reports. */
async function eraseSurveys(trx: Knex.Transaction, ledger: Ledger, ids: Knex.QueryBuilder, now: Date): Promise<SurveysErased> {
  // PostgreSQL, several instances: the surveys are locked before anything of them is read, so a
  // rating being written to one of them (it locks its survey first, ratings/repository.ts) either
  // commits before this reads its comment, events, webhooks and alerts, or waits and then finds the
  // survey erased. Their outbox rows first: a delivery worker ending a send locks the outbox row,
  // then the survey (surveys/state.ts finishSends), and the same order cannot deadlock.
  if (isPostgres(trx)) {
    await trx('outbox').whereIn('survey_id', ids.clone()).orderBy('id').forUpdate().pluck('id');
    await trx('surveys').whereIn('id', ids.clone()).orderBy('id').forUpdate().pluck('id');
  }
  // No more mail to a blanked address, and no links left that could add new comments. An email a
  // worker is sending right now is its worker's to end: it cannot be recalled, and if it is to be
  // retried, the worker finds the survey erased and cancels it then (delivery/worker.ts).
  const waiting = await trx('outbox').whereIn('survey_id', ids.clone()).andWhere('status', 'pending').pluck('survey_id');
  await cancelUnsentSurveys(trx, ledger, waiting, now);
  await trx('survey_tokens').whereIn('survey_id', ids.clone()).delete();
  const ratingEvents = await trx('rating_events').whereIn('survey_id', ids.clone()).whereNotNull('comment').update({ comment: ERASED_COMMENT });
  // A lead's notes on a follow-up are about the customer too.
  const followups = trx('followups').whereIn('survey_id', ids.clone()).select('id');
  await trx('followup_events').whereIn('followup_id', followups).whereNotNull('note').update({ note: ERASED_COMMENT });
  // Queued or delivered rating webhooks carry the comment text (and a receiver's error may echo it).
  for (const hook of await trx('hook_outbox').whereIn('survey_id', ids.clone()).select('id', 'body')) {
    const body = JSON.parse(hook.body);
    // Rating events carry the comment, follow-up events a lead's note, alerts the comment and the ticket's subject in their text.
    const alert = body.event === ALERT_EVENT;
    const erased = alert
      ? erasedAlert(body, ERASED_COMMENT)
      : { ...body, ...(body.comment && { comment: ERASED_COMMENT }), ...(body.note && { note: ERASED_COMMENT }) };
    if (body.comment || body.note || alert) await trx('hook_outbox').where({ id: hook.id }).update({ body: JSON.stringify(erased) });
  }
  await trx('hook_outbox').whereIn('survey_id', ids.clone()).whereNotNull('last_error').update({ last_error: null });
  // The leads' alert emails, sent or waiting, say the same.
  for (const row of await trx('lead_alerts').whereIn('survey_id', ids.clone()).select('id', 'body')) {
    await trx('lead_alerts').where({ id: row.id }).update({ body: JSON.stringify(erasedAlert(JSON.parse(row.body), ERASED_COMMENT)) });
  }
  // SMTP errors often quote the recipient, so delivery errors go too.
  await trx('outbox').whereIn('survey_id', ids.clone()).update({ last_error: null });
  const { surveys, comments } = await eraseSurveyText(trx, ids);
  return { surveys, comments, rating_events: ratingEvents };
}

/**
 * Erases one customer (by email, case-insensitive) everywhere in one transaction: their surveys'
 * identity and comments, their unsubscribe links, and the .eml files of their surveys in MAIL_DIR.
 * An opt-out stays: opt_outs holds only a keyed hash of the address, and an erased customer who
 * asked for no surveys must get none when their next ticket closes. Answers what it erased.
 */
export async function eraseCustomer(deps: ErasureDeps, email: string, now: Date): Promise<Erasure> {
  const normal = email.trim().toLowerCase();
  const emailHash = deps.addressHash(normal);
  return deps.db.transaction(async (trx) => {
    const ids = trx('surveys').whereRaw('lower(customer_email) = ?', [normal]).select('id');
    const surveyIds: string[] = await trx('surveys').whereRaw('lower(customer_email) = ?', [normal]).pluck('id');
    const erased = await eraseSurveys(trx, deps.ledger, ids, now);
    const tokens = await trx('unsubscribe_tokens').where({ email_hash: emailHash }).delete();
    const optedOut = Boolean(await trx('opt_outs').where({ email_hash: emailHash }).first('email_hash'));
    // Files last, inside the transaction: if they cannot be removed, nothing is erased and the
    // request can be repeated (once committed, the surveys no longer name the customer).
    const mailFiles = await removeMailOf(deps.mailDir, surveyIds);
    return { ...erased, unsubscribe_tokens: tokens, mail_files: mailFiles, opt_out_kept: optedOut };
  });
}

/** RETENTION_DAYS: erases identity and comments of every survey closed before `cutoff`. */
export async function eraseClosedBefore(db: Db, ledger: Ledger, cutoff: Date, now: Date): Promise<SurveysErased> {
  return db.transaction(async (trx) => {
    const ids = trx('surveys').where('closed_at', '<', cutoff).andWhereNot('customer_email', ERASED_EMAIL).select('id');
    return eraseSurveys(trx, ledger, ids, now);
  });
}
