import { maskEmails } from '../shared/logger';
import type { Db } from '../shared/db';
import type { Ledger } from '../reports/ledger';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Views } from '../shared/views';
import type { SurveyService } from '../surveys/service';
import { retryDelayMs } from './backoff';
import { DeliveryError, type Mailer } from './mailer';
import { renderSurveyEmail, senderFor } from './render';
import { brandFor } from '../surveys/questions';
import type { SurveyDefinitions } from '../surveys/definitions';
import * as repo from './repository';
import type { Metrics } from '../shared/metrics';

export type WorkerOptions = {
  maxAttempts: number;
  retryBaseSeconds: number;
  pollMs: number;
  concurrency: number;
  leaseSeconds: number;
};

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
  metrics?: Metrics;
};

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;

/**
 * Sends due outbox rows. A row is marked sent only after the transport accepted it,
 * so a crash in between re-sends (same Message-ID) rather than losing the survey.
 */
export function createDeliveryWorker(deps: WorkerDeps) {
  const { db, clock, logger, options } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;
  let stopping = false;
  let wakeRequested = false;

  async function deliver(row: repo.OutboxRow): Promise<void> {
    const log = logger.child({ surveyId: row.surveyId, attempt: row.attempts, ...(row.requestId && { reqId: row.requestId }) });
    const survey = await deps.surveys.getSurvey(row.surveyId);
    if (!survey) throw new Error(`outbox row ${row.id} has no survey`);
    const token = await deps.surveys.issueToken(survey.id);
    const unsubscribeUrl = `${deps.publicUrl}/u/${await deps.surveys.issueUnsubscribeToken(survey.customerEmail)}`;
    const brand = brandFor(deps.definitions, survey.brand);
    const email = renderSurveyEmail(deps.views, survey, token, deps.publicUrl, brand, unsubscribeUrl);
    deps.metrics?.sendAttempts.inc();
    try {
      await deps.mailer.send({
        to: survey.customerName ? `"${survey.customerName.replace(/["\\]/g, '')}" <${survey.customerEmail}>` : survey.customerEmail,
        from: senderFor(brand, deps.mailFrom),
        subject: email.subject,
        html: email.html,
        text: email.text,
        messageId: survey.messageId,
        inReplyTo: survey.threadMessageId ?? undefined,
        unsubscribeUrl,
      });
    } catch (err) {
      const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), true);
      deps.metrics?.sendFailures.inc({ kind: failure.temporary ? 'temporary' : 'permanent' });
      const now = clock.now();
      if (!failure.temporary || row.attempts >= options.maxAttempts) {
        await repo.markFailed(db, deps.ledger, row, failure.message, now);
        log.warn({ error: maskEmails(failure.message), temporary: failure.temporary }, 'survey delivery failed for good');
      } else {
        const delay = retryDelayMs(row.attempts, options.retryBaseSeconds);
        await repo.markRetry(db, row, new Date(now.getTime() + delay), failure.message, now);
        log.info({ error: maskEmails(failure.message), retryInMs: delay }, 'survey delivery will be retried');
      }
      return;
    }
    deps.metrics?.sent.inc();
    await repo.markSent(db, deps.ledger, row, clock.now());
    log.info('survey sent');
  }

  /** Claims and sends batches until nothing is due. Returns how many rows it handled. */
  async function drain(): Promise<number> {
    let handled = 0;
    while (!stopping) {
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + options.leaseSeconds * 1000);
      const rows = await repo.claimDueOutboxRows(db, now, leaseUntil, options.concurrency);
      if (rows.length === 0) break;
      const results = await Promise.allSettled(rows.map(deliver));
      for (const r of results) {
        // The lease brings such a row back once it expires; nothing is lost.
        if (r.status === 'rejected') logger.error({ err: r.reason }, 'delivery step failed; row returns after its lease');
      }
      handled += rows.length;
    }
    return handled;
  }

  function schedule(ms: number) {
    if (!started || stopping) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function tick() {
    if (running || stopping) return;
    wakeRequested = false;
    running = drain()
      .then(() => undefined)
      .catch((err) => logger.error({ err: { code: err?.code, message: err?.message } }, 'outbox poll failed'))
      .finally(() => {
        running = undefined;
        schedule(wakeRequested ? 0 : options.pollMs);
      });
  }

  return {
    start() {
      started = true;
      schedule(0);
    },
    /** A new survey is due now: look sooner than the next poll. */
    wake() {
      if (!started || stopping) return;
      if (running) wakeRequested = true;
      else schedule(0);
    },
    /** Stops claiming new work and waits for the in-flight sends to finish. */
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
    drain,
  };
}
