import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { withoutEmails, type Logger } from '../shared/logger';
import type { Views } from '../shared/views';
import type { Metrics, OutboxTransition } from '../shared/metrics';
import { createOutboxPoller, failOrRetry, type WorkerOptions } from '../shared/outbox-poller';
import { asDeliveryError, type Mailer } from '../delivery/mailer';
import { composeSurveyMail } from '../delivery/render';
import type { SurveyDefinitions } from '../surveys/definitions';
import type { SurveyService } from '../surveys/service';
import * as repo from './repository';

/** How long a reminder waits when a rating of its survey is still in the scanner hold (it likely counts). */
const WAIT_FOR_HOLD_MS = 60_000;

/**
 * REMINDER_AFTER_HOURS: sends each sent survey's one reminder when it is due, if it still applies
 * (surveys/repository.ts checkReminder: not rated, not unsubscribed, not erased, not reopened,
 * links not expired): the survey email again, with a reminder line, in the survey's language and
 * brand, threaded under the first email (In-Reply-To, References). Marked sent only after the
 * transport accepted it, under the claim; a crash in between re-sends the same Message-ID. A
 * reminder that no longer applies is cancelled with its reason; one row per survey (unique), so
 * never a second reminder.
 */
export function createReminderWorker(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  views: Views;
  mailer: Mailer;
  surveys: SurveyService;
  definitions: SurveyDefinitions;
  publicUrl: string;
  mailFrom: string;
  options: WorkerOptions;
  metrics?: Metrics;
}) {
  const { db, clock, logger, options } = deps;

  function lostClaim(claim: repo.ReminderClaim, transition: OutboxTransition) {
    deps.metrics?.lostClaims.inc({ outbox: 'reminder', transition });
    logger.warn({ surveyId: claim.surveyId, attempt: claim.attempts, transition }, 'reminder no longer held by this claim (lease ran out): left unchanged');
  }

  async function remind(claim: repo.ReminderClaim): Promise<void> {
    const log = logger.child({ surveyId: claim.surveyId, attempt: claim.attempts });
    const parts = await deps.surveys.prepareReminder(claim.surveyId);
    if ('skip' in parts) {
      if (!(await repo.skipReminder(db, claim, parts.skip, clock.now()))) return lostClaim(claim, 'cancel');
      deps.metrics?.messagesNotSent.inc({ kind: 'reminder', reason: parts.skip });
      log.info({ reason: parts.skip }, 'reminder no longer applies: cancelled');
      return;
    }
    if ('wait' in parts) {
      const now = clock.now();
      if (!(await repo.retryReminder(db, claim, new Date(now.getTime() + WAIT_FOR_HOLD_MS), null, now))) lostClaim(claim, 'retry');
      return;
    }
    try {
      await deps.mailer.send(composeSurveyMail(deps.views, deps, parts, 'reminder'));
    } catch (err) {
      return failOrRetry(asDeliveryError(err), {
        attempts: claim.attempts,
        options,
        now: clock.now(),
        log,
        storedError: withoutEmails,
        endFailed: async (error, now) => {
          const ended = await repo.endReminder(db, claim, { status: 'failed', error }, now);
          if (ended) deps.metrics?.messagesNotSent.inc({ kind: 'reminder', reason: 'failed' });
          return ended;
        },
        retry: (dueAt, error, now) => repo.retryReminder(db, claim, dueAt, error, now),
        lostClaim: (transition) => lostClaim(claim, transition),
        messages: { failed: 'reminder failed for good', retried: 'reminder will be retried' },
      });
    }
    if (!(await repo.endReminder(db, claim, { status: 'sent' }, clock.now()))) return lostClaim(claim, 'sent');
    deps.metrics?.messagesSent.inc({ kind: 'reminder' });
    log.info('reminder sent');
  }

  return createOutboxPoller({
    clock,
    logger,
    options,
    claim: (now, leaseUntil, limit) => repo.claimDueReminders(db, now, leaseUntil, limit),
    handle: remind,
    messages: { stepFailed: 'reminder step failed; it returns after its lease', pollFailed: 'reminder poll failed' },
  });
}
