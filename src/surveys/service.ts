import crypto from 'node:crypto';
import type { Db } from '../shared/db';
import type { Ledger } from '../reports/ledger';
import type { SurveyDefinitions } from './definitions';
import { chooseQuestion } from './questions';
import { isUniqueViolation } from '../shared/errors';
import { addDays, addMinutes, type Clock } from '../shared/clock';
import { normalEmail, sampledIn, ticketSuppression, type EligibilityPolicy, type SuppressionReason } from './eligibility';
import { hashToken, looksLikeToken, mintToken } from './tokens';
import * as repo from './repository';
import type { ScheduleOutcome, Survey, TicketClosed } from './types';

export type SurveyServiceDeps = {
  db: Db;
  ledger: Ledger;
  definitions: SurveyDefinitions;
  policy: EligibilityPolicy;
  clock: Clock;
  publicUrl: string;
  surveyDelayMinutes: number;
  tokenTtlDays: number;
  /** Called after a survey is stored with an outbox row, so the worker can wake early. */
  onScheduled?: () => void;
};

export type SurveyService = ReturnType<typeof createSurveyService>;

export type CancelOutcome =
  | { survey_id: string; status: 'cancelled' | 'already_sent' | 'sending' | 'not_scheduled' }
  | { status: 'ignored'; reason: 'unknown_ticket' };

export function createSurveyService(deps: SurveyServiceDeps) {
  const { db, clock } = deps;
  const messageIdDomain = new URL(deps.publicUrl).hostname;

  async function duplicateOf(ticket: TicketClosed): Promise<ScheduleOutcome | undefined> {
    const existing = await repo.findSurveyByTicket(db, ticket.source, ticket.ticketId);
    return existing && { status: 'duplicate', surveyId: existing.id };
  }

  return {
    /**
     * Once per ticket: a repeated or concurrent delivery of the same ticket answers "duplicate".
     * A ticket whose survey was cancelled (reopened before sending) gets a fresh one when it closes again.
     */
    async scheduleSurvey(ticket: TicketClosed, context: { requestId?: string } = {}): Promise<ScheduleOutcome> {
      const known = await duplicateOf(ticket);
      if (known) return known;

      const id = crypto.randomUUID();
      const now = clock.now();
      const email = normalEmail(ticket.customer.email);
      let reason: SuppressionReason | null;
      try {
        reason = await repo.insertSurvey(
          db,
          deps.ledger,
          {
            id,
            ticket,
            choice: chooseQuestion(deps.definitions, ticket),
            messageId: `<survey.${id}@${messageIdDomain}>`,
            now,
            sendAfter: addMinutes(now, deps.surveyDelayMinutes),
            requestId: context.requestId,
          },
          async (trx) =>
            ticketSuppression(ticket, deps.policy) ??
            (await repo.historySuppression(trx, email, now, deps.policy)) ??
            (sampledIn(ticket.ticketId, deps.policy.sampleRate) ? null : 'sampled_out'),
        );
      } catch (err) {
        const raced = isUniqueViolation(err) ? await duplicateOf(ticket) : undefined;
        if (raced) return raced;
        throw err;
      }
      if (reason) return { status: 'suppressed', surveyId: id, reason };
      deps.onScheduled?.();
      return { status: 'scheduled', surveyId: id };
    },

    /**
     * A reopened ticket: its survey is cancelled if the email has not gone out (nor is going out
     * right now); a sent survey stays. Unknown tickets are ignored, not errors.
     */
    cancelSurvey: async (source: string, ticketId: string): Promise<CancelOutcome> => {
      const outcome = await repo.cancelUnsent(db, deps.ledger, source, ticketId, clock.now());
      return outcome.status === 'ignored' ? outcome : { survey_id: outcome.surveyId, status: outcome.status };
    },

    getSurvey: (id: string): Promise<Survey | undefined> => repo.findSurvey(db, id),

    /** A fresh rating token for one email; only its hash is kept. Earlier tokens stay valid. */
    async issueToken(surveyId: string): Promise<string> {
      const token = mintToken();
      const now = clock.now();
      await repo.insertToken(db, surveyId, hashToken(token), now, addDays(now, deps.tokenTtlDays));
      return token;
    },

    /** A token for the unsubscribe link of one email; it opts out the address, not just the survey, and does not expire. */
    async issueUnsubscribeToken(customerEmail: string): Promise<string> {
      const token = mintToken();
      await repo.insertUnsubscribeToken(db, hashToken(token), normalEmail(customerEmail), clock.now());
      return token;
    },

    async findByToken(token: string): Promise<{ survey: Survey; expired: boolean } | undefined> {
      if (!looksLikeToken(token)) return undefined;
      const found = await repo.findByTokenHash(db, hashToken(token));
      return found && { survey: found.survey, expired: found.expiresAt <= clock.now() };
    },
  };
}
