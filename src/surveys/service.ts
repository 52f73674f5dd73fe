import type { Db } from '../shared/db';
import type { Ledger } from './counters/ledger';
import type { SurveyDefinitions } from './definitions';
import { chooseQuestion } from './questions';
import { isUniqueViolation } from '../shared/errors';
import { addDays, addMinutes, type Clock } from '../shared/clock';
import type { Knex } from 'knex';
import { createBatchWriter, type ItemOutcome } from '../shared/batch';
import { together } from '../shared/statements';
import { agentAddressesOf, historySuppression, normalEmail, rememberSurvey, sampledIn, ticketSuppression, type EligibilityPolicy } from './eligibility';
import { hashToken, looksLikeToken, mintToken } from './tokens';
import * as repo from './repository';
import * as state from './state';
import { deleteReceipts, findReceipts, insertReceipts, pruneReceipts, receiptIndex, type Answer, type Receipted, type RequestKey } from './receipts';
import type { ScheduleOutcome, Survey, TicketClosed } from './types';
import { creditTicket, type AgentCredit } from './credit';
import type { AddressHash } from '../shared/address-hash';
import { timeOrderedId } from '../shared/ids';

export type SurveyServiceDeps = {
  db: Db;
  ledger: Ledger;
  definitions: SurveyDefinitions;
  policy: EligibilityPolicy;
  /** AGENT_CREDIT: whom a ticket is credited to first (surveys/credit.ts); default last_reply. */
  agentCredit?: AgentCredit;
  clock: Clock;
  publicUrl: string;
  surveyDelayMinutes: number;
  tokenTtlDays: number;
  /**
   * Called after a survey is stored with an outbox row due at once (no SURVEY_DELAY_MINUTES), so the
   * worker can wake early. A delayed row is found by the worker's regular poll when it is due: a
   * wake for it would only run a claim (a write transaction on SQLite's one connection) between batches.
   */
  onScheduled?: () => void;
  /** Told how many webhooks each committed transaction carried (metrics). */
  onBatch?: (size: number) => void;
  /** What opt-outs and unsubscribe links keep of an address (PRIVACY_KEY). */
  addressHash: AddressHash;
};

export type SurveyService = ReturnType<typeof createSurveyService>;
export type { Cursor, SurveyFilter } from './repository';

export type CancelOutcome =
  | { survey_id: string; status: 'cancelled' | 'already_sent' | 'sending' | 'not_scheduled' }
  | { status: 'ignored'; reason: 'unknown_ticket' };

/**
 * For another area's transaction (erasure): cancels those of `surveyIds` whose email waits unsent
 * and unclaimed, under the same rule as a reopen (repository.cancelUnsentSurveys). Answers their ids.
 */
export const cancelUnsentSurveys = state.cancelUnsentSurveys;

/** The most webhooks one transaction takes (see shared/batch.ts). */
export const SCHEDULE_BATCH_MAX = 64;

/**
 * Replay protection for one webhook request (surveys/receipts.ts): its key, and how the caller
 * answers each outcome, so that the answer is stored with the effect and given again to a replay.
 */
export type Once<O> = { key: RequestKey; answer: (outcome: O) => Answer };

/** A unique index refused a write because another instance got there first: the request is asked again, in a fresh transaction that sees it. */
const RACE_ATTEMPTS = 3;

type Closing = { ticket: TicketClosed; now: Date; requestId?: string; once?: Once<ScheduleOutcome> };
/** What a batch decided for one close: its outcome (and the answer stored as its receipt), or the stored answer it replays. */
type Decided = { outcome: ScheduleOutcome; answer?: Answer } | { replayOf: Answer };

export type EmailParts = { survey: Survey; token: string; unsubscribeToken: string };
/** A survey email about to go out: its parts, or why it must not go: its customer was erased, or opted out, since the ticket closed. */
export type EmailPrep = EmailParts | { survey: Survey; stopped: 'survey erased' | 'customer unsubscribed' };

export function createSurveyService(deps: SurveyServiceDeps) {
  const { db, clock } = deps;
  const messageIdDomain = new URL(deps.publicUrl).hostname;
  /** A survey just scheduled: its email is due now unless SURVEY_DELAY_MINUTES holds it (see onScheduled). */
  const dueNow = () => {
    if (deps.surveyDelayMinutes === 0) deps.onScheduled?.();
  };

  /**
   * Decides and writes a batch of closed tickets in order, in one transaction: each decision sees
   * the stored history and the surveys decided before it in the batch, as if each had its own
   * transaction in turn. A ticket already surveyed (stored, or earlier in the batch) is a duplicate.
   */
  async function scheduleBatch(trx: Knex.Transaction, batch: Closing[]): Promise<ItemOutcome<Decided>[]> {
    const policy = deps.policy;
    const emails = [...new Set(batch.map((c) => normalEmail(c.ticket.customer.email)))];
    const agentEmails = agentAddressesOf(batch.map((c) => c.ticket));
    const earliest = Math.min(...batch.map((c) => c.now.getTime()));
    const [live, history, stored] = await together(trx, [
      () => repo.liveSurveysOf(trx, batch.map((c) => c.ticket)),
      () => repo.readCustomerHistory(trx, emails, new Date(earliest - policy.throttleDays * 86_400_000), policy.throttleDays > 0, deps.addressHash, agentEmails),
      () => findReceipts(trx, batch.flatMap((c) => (c.once ? [c.once.key] : []))),
    ]);
    // The agent addresses stored already; deciding adds the batch's own to `history.agents`.
    const knownAgents = new Set(history.agents);
    // A request whose receipt is stored, or which repeats one earlier in this batch, is a replay: its answer, nothing decided.
    const receipts = receiptIndex(stored, new Date(earliest));
    const newReceipts: Array<{ key: RequestKey; answer: Answer; now: Date }> = [];
    const rows: state.NewSurvey[] = [];
    const decide = ({ ticket, now, requestId }: Closing): ScheduleOutcome => {
      const key = repo.ticketKey(ticket);
      const existing = live.get(key);
      if (existing) return { status: 'duplicate', surveyId: existing };
      const id = timeOrderedId(now);
      const reason =
        ticketSuppression(ticket, policy) ??
        historySuppression(history, normalEmail(ticket.customer.email), now, policy) ??
        (sampledIn(ticket.ticketId, policy.sampleRate) ? null : 'sampled_out');
      rememberSurvey(history, ticket, reason === null, now);
      live.set(key, id);
      rows.push({
        id,
        ticket,
        choice: chooseQuestion(deps.definitions, ticket),
        messageId: `<survey.${id}@${messageIdDomain}>`,
        now,
        sendAfter: addMinutes(now, deps.surveyDelayMinutes),
        requestId,
        reason,
      });
      return reason ? { status: 'suppressed', surveyId: id, reason } : { status: 'scheduled', surveyId: id };
    };
    const outcomes = batch.map((closing): ItemOutcome<Decided> => {
      const { once } = closing;
      const replayOf = once && receipts.match(once.key);
      if (replayOf) return { ok: true, value: { replayOf } };
      const outcome = decide(closing);
      if (!once) return { ok: true, value: { outcome } };
      const answer = once.answer(outcome);
      receipts.add(once.key, answer);
      newReceipts.push({ key: once.key, answer, now: closing.now });
      return { ok: true, value: { outcome, answer } };
    });
    await deleteReceipts(trx, receipts.expired);
    await together(trx, [() => state.insertSurveys(trx, deps.ledger, rows, knownAgents), () => insertReceipts(trx, newReceipts)]);
    return outcomes;
  }

  const writer = createBatchWriter({ db, maxItems: SCHEDULE_BATCH_MAX, write: scheduleBatch, onCommit: deps.onBatch });

  /**
   * Runs `work` (which answers the request) in one transaction with the request's receipt, unless
   * a receipt under its key is there already: then that answer, and nothing done. Two identical
   * requests at once on PostgreSQL: the later one's receipt hits the unique key once the first
   * commits, its transaction (effect included) rolls back, and asked again it is a replay.
   */
  async function inTransactionOnce(key: RequestKey, work: (trx: Knex.Transaction, now: Date) => Promise<Answer>): Promise<Receipted> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction(async (trx) => {
          const now = clock.now();
          const receipts = receiptIndex(await findReceipts(trx, [key]), now);
          const replayOf = receipts.match(key);
          if (replayOf) return { ...replayOf, replayed: true };
          await deleteReceipts(trx, receipts.expired);
          const answer = await work(trx, now);
          await insertReceipts(trx, [{ key, answer, now }]);
          return { ...answer, replayed: false };
        });
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= RACE_ATTEMPTS) throw err;
      }
    }
  }

  const toCancelOutcome = (outcome: Awaited<ReturnType<typeof repo.cancelUnsent>>): CancelOutcome =>
    outcome.status === 'ignored' ? outcome : { survey_id: outcome.surveyId, status: outcome.status };

  /**
   * The surveys about to be emailed, each with a fresh rating token and unsubscribe token, stored in
   * one transaction; or why one is `stopped`, with no links minted: an erasure, or an unsubscribe,
   * that came after the ticket closed (a survey waiting out SURVEY_DELAY_MINUTES, or a retry).
   */
  async function prepareBatch(trx: Knex.Transaction, ids: string[]): Promise<ItemOutcome<EmailPrep>[]> {
    const surveys = await repo.surveysById(trx, ids);
    const hashes = new Map([...surveys.values()].map((s) => [s.id, deps.addressHash(s.customerEmail)]));
    const optedOut = await repo.optedOutAmong(trx, [...hashes.values()]);
    const now = clock.now();
    const expiresAt = addDays(now, deps.tokenTtlDays);
    const ratingTokens: unknown[][] = [];
    const unsubscribeTokens: unknown[][] = [];
    const outcomes = ids.map((id): ItemOutcome<EmailPrep> => {
      const survey = surveys.get(id);
      if (!survey) return { ok: false, error: new Error(`survey ${id} not found`) };
      const addressHash = hashes.get(id) as string;
      if (survey.customerEmail === state.ERASED_EMAIL) return { ok: true, value: { survey, stopped: 'survey erased' } };
      if (optedOut.has(addressHash)) return { ok: true, value: { survey, stopped: 'customer unsubscribed' } };
      const token = mintToken();
      const unsubscribeToken = mintToken();
      ratingTokens.push([hashToken(token), id, now, expiresAt]);
      unsubscribeTokens.push([hashToken(unsubscribeToken), addressHash, id, now]);
      return { ok: true, value: { survey, token, unsubscribeToken } };
    });
    await repo.insertTokens(trx, ratingTokens, unsubscribeTokens);
    return outcomes;
  }

  /** How a link's token is stored (its hash), or undefined for something that cannot be one of ours. */
  const tokenHashOf = (token: string): string | undefined => (looksLikeToken(token) ? hashToken(token) : undefined);

  const preparer = createBatchWriter({ db, maxItems: SCHEDULE_BATCH_MAX, write: prepareBatch });

  return {
    /**
     * Once per ticket: a repeated or concurrent delivery of the same ticket answers "duplicate".
     * The agent is decided first, by one rule for every source (surveys/credit.ts, AGENT_CREDIT).
     * A ticket whose survey was cancelled (reopened before sending) gets a fresh one when it closes again.
     * Answers once the survey is committed, sharing the transaction with webhooks that arrive meanwhile.
     */
    async scheduleSurvey(closed: TicketClosed, context: { requestId?: string } = {}): Promise<ScheduleOutcome> {
      const ticket = creditTicket(closed, deps.agentCredit ?? 'last_reply');
      let decided: Decided;
      try {
        decided = await writer.submit({ ticket, now: clock.now(), requestId: context.requestId });
      } catch (err) {
        // Another instance stored this ticket between our read and our write: it is a duplicate now.
        const raced = isUniqueViolation(err) ? await repo.findSurveyByTicket(db, ticket.source, ticket.ticketId) : undefined;
        if (raced) return { status: 'duplicate', surveyId: raced.id };
        throw err;
      }
      if (!('outcome' in decided)) throw new Error('only a close with a request key can be a replay');
      if (decided.outcome.status === 'scheduled') dueNow();
      return decided.outcome;
    },

    /**
     * scheduleSurvey for a webhook request, at most once per request: its answer is stored in the
     * survey's transaction, and a replay (surveys/receipts.ts) gets that answer and changes nothing.
     */
    async scheduleSurveyOnce(closed: TicketClosed, once: Once<ScheduleOutcome>, context: { requestId?: string } = {}): Promise<Receipted> {
      const ticket = creditTicket(closed, deps.agentCredit ?? 'last_reply');
      for (let attempt = 1; ; attempt++) {
        let decided: Decided;
        try {
          decided = await writer.submit({ ticket, now: clock.now(), requestId: context.requestId, once });
        } catch (err) {
          // Another instance stored this request's receipt, or this ticket's survey, first: asked again, it is a replay or a duplicate.
          if (!isUniqueViolation(err) || attempt >= RACE_ATTEMPTS) throw err;
          continue;
        }
        if ('replayOf' in decided) return { ...decided.replayOf, replayed: true };
        if (decided.outcome.status === 'scheduled') dueNow();
        return { ...(decided.answer ?? once.answer(decided.outcome)), replayed: false };
      }
    },

    /**
     * A reopened ticket: its survey is cancelled if the email has not gone out (nor is going out
     * right now); a sent survey stays. Unknown tickets are ignored, not errors.
     */
    cancelSurvey: async (source: string, ticketId: string): Promise<CancelOutcome> =>
      toCancelOutcome(await db.transaction((trx) => repo.cancelUnsent(trx, deps.ledger, source, ticketId, clock.now()))),

    /** cancelSurvey for a webhook request, at most once per request (see scheduleSurveyOnce). */
    cancelSurveyOnce: (source: string, ticketId: string, once: Once<CancelOutcome>): Promise<Receipted> =>
      inTransactionOnce(once.key, async (trx, now) => once.answer(toCancelOutcome(await repo.cancelUnsent(trx, deps.ledger, source, ticketId, now)))),

    /**
     * An authenticated request that changes nothing (an event that is neither a close nor a reopen)
     * leaves its answer too, so that it cannot come back as something else: replayed with another
     * unsigned header (Help Scout names its event outside the signature), it is answered as before.
     */
    ignoreOnce: (key: RequestKey, answer: Answer): Promise<Receipted> => inTransactionOnce(key, async () => answer),

    /** Deletes the receipts older than RECEIPT_DAYS; answers how many. */
    pruneReceipts: (): Promise<number> => pruneReceipts(db, clock.now()),

    getSurvey: (id: string): Promise<Survey | undefined> => repo.findSurvey(db, id),

    /** Surveys for the operators' API, newest closed first, a page after `after`. */
    listSurveys: (filter: repo.SurveyFilter, limit: number, after?: repo.Cursor) => repo.listSurveys(db, filter, limit, after),

    /** One survey for the operators' API, with its delivery. */
    surveyWithDelivery: (id: string) => repo.surveyWithDelivery(db, id),

    /**
     * What the email of a survey needs: the survey, a fresh rating token and an unsubscribe token,
     * stored before the email can go out (sends running together share the transaction).
     */
    prepareEmail: (surveyId: string): Promise<EmailPrep> => preparer.submit(surveyId),

    /**
     * What a reminder needs, decided at its time (repository.checkReminder): why it no longer
     * applies, that it must wait (a rating is in the scanner hold), or the survey with fresh links
     * that expire with the first email's, so a reminder never extends the time to answer.
     */
    async prepareReminder(surveyId: string): Promise<{ skip: state.ReminderSkip } | { wait: true } | EmailParts> {
      const now = clock.now();
      const check = await repo.checkReminder(db, surveyId, now, deps.addressHash);
      if (!('survey' in check)) return check;
      const token = mintToken();
      const unsubscribeToken = mintToken();
      await db.transaction((trx) =>
        repo.insertTokens(trx, [[hashToken(token), surveyId, now, check.expiresAt]], [[hashToken(unsubscribeToken), deps.addressHash(check.survey.customerEmail), surveyId, now]]),
      );
      return { survey: check.survey, token, unsubscribeToken };
    },

    /** A fresh rating token for one email; only its hash is kept. Earlier tokens stay valid. */
    async issueToken(surveyId: string): Promise<string> {
      const token = mintToken();
      const now = clock.now();
      await repo.insertToken(db, surveyId, hashToken(token), now, addDays(now, deps.tokenTtlDays));
      return token;
    },

    /**
     * A token for the unsubscribe link of one email (of `surveyId`, whose page shows its masked address);
     * it opts out the address, not just the survey, and works until RETENTION_DAYS ages it out.
     */
    async issueUnsubscribeToken(customerEmail: string, surveyId: string | null = null): Promise<string> {
      const token = mintToken();
      await repo.insertUnsubscribeToken(db, hashToken(token), deps.addressHash(customerEmail), surveyId, clock.now());
      return token;
    },

    tokenHashOf,

    async findByToken(token: string): Promise<{ survey: Survey; expired: boolean } | undefined> {
      const tokenHash = tokenHashOf(token);
      if (!tokenHash) return undefined;
      const found = await repo.findByTokenHash(db, tokenHash);
      return found && { survey: found.survey, expired: found.expiresAt <= clock.now() };
    },
  };
}
