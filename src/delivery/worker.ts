import { withoutEmails } from '../shared/logger';
import { createOutboxPoller, failOrRetry, type WorkerOptions } from '../shared/outbox-poller';
import type { Db } from '../shared/db';
import type { Ledger } from '../surveys/counters/ledger';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Views } from '../shared/views';
import type { SurveyService } from '../surveys/service';
import { asDeliveryError, type Mailer } from './mailer';
import { composeSurveyMail } from './render';
import type { SurveyDefinitions } from '../surveys/definitions';
import * as repo from './repository';
import { createBatchWriter } from '../shared/batch';
import type { Metrics, OutboxTransition } from '../shared/metrics';

export type { WorkerOptions };

type WorkerDeps = {
  db: Db;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  views: Views;
  mailer: Mailer;
  surveys: SurveyService;
  definitions: SurveyDefinitions;
  publicUrl: string;
  mailFrom: string;
  options: WorkerOptions;
  /** REMINDER_AFTER_HOURS: a sent survey's reminder is queued with the send (0: none). */
  reminderAfterHours?: number;
  metrics?: Metrics;
};

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;

/**
 * Sends due outbox rows. A row is marked sent only after the transport accepted it,
 * so a crash in between re-sends (same Message-ID) rather than losing the survey.
 */
export function createDeliveryWorker(deps: WorkerDeps) {
  const { db, clock, logger, options } = deps;

  // Sends finishing together share one transaction (group commit, shared/batch.ts).
  const finisher = createBatchWriter({
    db,
    maxItems: 64,
    write: async (trx, finishes: repo.Finish[]) => {
      const held = await repo.finishSends(trx, deps.ledger, finishes, (deps.reminderAfterHours ?? 0) * 3_600_000);
      return held.map((value) => ({ ok: true as const, value }));
    },
  });
  const finish = (row: repo.OutboxRow, status: repo.Finish['status'], error: string | null) => finisher.submit({ row, status, error, now: clock.now() });

  /** A transition that found its claim gone changed nothing: say so, without customer data. */
  function lostClaim(log: Logger, transition: OutboxTransition) {
    deps.metrics?.lostClaims.inc({ outbox: 'email', transition });
    log.warn({ transition }, 'outbox row no longer held by this claim (lease ran out, or cancelled): left unchanged');
  }

  async function deliver(row: repo.OutboxRow): Promise<void> {
    const log = logger.child({ surveyId: row.surveyId, attempt: row.attempts, ...(row.requestId && { reqId: row.requestId }) });
    const prepared = await deps.surveys.prepareEmail(row.surveyId);
    // Erasure leaves an email a worker was sending to that worker; if that send is retried, it ends here.
    // An opt-out after the close (the survey waited out SURVEY_DELAY_MINUTES, or a retry) ends it too.
    if ('stopped' in prepared) {
      if (await finish(row, 'cancelled', null)) log.info(`${prepared.stopped} before its email went out: cancelled`);
      else lostClaim(log, 'cancel');
      return;
    }
    const { survey, token, unsubscribeToken } = prepared;
    deps.metrics?.sendAttempts.inc();
    try {
      await deps.mailer.send(composeSurveyMail(deps.views, deps, { survey, token, unsubscribeToken }));
    } catch (err) {
      const failure = asDeliveryError(err);
      deps.metrics?.sendFailures.inc({ kind: failure.temporary ? 'temporary' : 'permanent' });
      return failOrRetry(failure, {
        attempts: row.attempts,
        options,
        now: clock.now(),
        log,
        // Stored without addresses: a late write must not bring back one that erasure blanked meanwhile.
        storedError: withoutEmails,
        endFailed: (error) => finish(row, 'failed', error),
        retry: (dueAt, error, now) => repo.markRetry(db, row, dueAt, error, now),
        lostClaim: (transition) => lostClaim(log, transition),
        messages: { failed: 'survey delivery failed for good', retried: 'survey delivery will be retried' },
      });
    }
    deps.metrics?.sent.inc();
    if (!(await finish(row, 'sent', null))) return lostClaim(log, 'sent');
    log.info('survey sent');
  }

  return createOutboxPoller({
    clock,
    logger,
    options,
    claim: (now, leaseUntil, limit) => repo.claimDueOutboxRows(db, now, leaseUntil, limit),
    handle: deliver,
    // The lease brings such a row back once it expires; nothing is lost.
    messages: { stepFailed: 'delivery step failed; row returns after its lease', pollFailed: 'outbox poll failed' },
  });
}
