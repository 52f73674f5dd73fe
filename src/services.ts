import type { Config } from './config';
import type { Db } from './shared/db';
import type { Clock } from './shared/clock';
import type { Logger } from './shared/logger';
import { createViews } from './shared/views';
import { createSurveyService } from './surveys/service';
import { createRatingService } from './ratings/service';
import { createMailer, type Mailer } from './delivery/mailer';
import { createDeliveryWorker } from './delivery/worker';
import { createHookWorker } from './rating-webhooks/worker';
import { createLeadAlertWorker } from './alerts/worker';
import { createReminderWorker } from './reminders/worker';
import { createLedger } from './surveys/counters/ledger';
import { leadsFor, loadDefinitions } from './surveys/definitions';
import { createReportService } from './reports/service';
import { createMetrics } from './shared/metrics';
import { registerDatabaseGauges } from './ops/collect';
import { addressHasher } from './shared/address-hash';
import { createPrivacyService } from './privacy/service';
import { createUnsubscribeService } from './unsubscribe/service';
import { createApiService } from './api/service';
import { createFollowupService } from './followups/service';
import { createTicketWebhookService } from './ticket-webhooks/service';
import { createUserService } from './people/service';
import { createAuditService } from './audit/service';
import { createSigninService } from './signin/service';
import { createSso } from './signin/sso';

/** Wires the areas together once; main.ts and the tests both start from here. */
export function createServices(args: { config: Config; db: Db; logger: Logger; clock: Clock; mailer?: Mailer }) {
  const { config, db, logger, clock } = args;
  const metrics = createMetrics();
  registerDatabaseGauges(metrics, db, clock);
  const views = createViews(config.templatesDir);
  const definitions = loadDefinitions(config.surveysFile);
  const ledger = createLedger(config.reportTz);
  const mailer = args.mailer ?? createMailer({ smtpUrl: config.smtpUrl, allowPlaintext: config.smtpAllowPlaintext, mailDir: config.mailDir });
  const addressHash = addressHasher(config.privacyKey);
  let wakeWorker = () => {};
  const surveys = createSurveyService({
    db,
    ledger,
    definitions,
    policy: config.eligibility,
    agentCredit: config.agentCredit,
    clock,
    publicUrl: config.publicUrl,
    surveyDelayMinutes: config.surveyDelayMinutes,
    tokenTtlDays: config.tokenTtlDays,
    onScheduled: () => wakeWorker(),
    onBatch: (size) => metrics.writeBatchSize.observe({ kind: 'schedule' }, size),
    addressHash,
  });
  const ratings = createRatingService({
    db,
    ledger,
    hookUrls: config.ratingWebhooks.urls,
    followUpAtOrBelow: config.alertMaxScore,
    alert: { webhookUrl: config.alertWebhookUrl, publicUrl: config.publicUrl, leadsFor: (team) => leadsFor(definitions, team), digestMinutes: config.alertDigestMinutes },
    clock,
    surveys,
    ratingChangeDays: config.ratingChangeDays,
    holdSeconds: config.ratingHoldSeconds,
    metrics,
    logger: logger.child({ component: 'ratings' }),
  });
  const worker = createDeliveryWorker({
    db,
    ledger,
    clock,
    logger: logger.child({ component: 'delivery' }),
    views,
    mailer,
    surveys,
    definitions,
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    options: config.delivery,
    reminderAfterHours: config.reminderAfterHours,
    metrics,
  });
  wakeWorker = () => worker.wake();
  const reminders = createReminderWorker({
    db,
    clock,
    logger: logger.child({ component: 'reminders' }),
    views,
    mailer,
    surveys,
    definitions,
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    options: config.delivery,
    metrics,
  });
  const leadAlerts = createLeadAlertWorker({
    db,
    clock,
    logger: logger.child({ component: 'lead-alerts' }),
    views,
    mailer,
    mailFrom: config.mailFrom,
    digestMinutes: config.alertDigestMinutes,
    options: config.delivery,
    metrics,
  });
  const hooks = createHookWorker({
    db,
    clock,
    logger: logger.child({ component: 'rating-webhooks' }),
    secret: config.ratingWebhooks.secret,
    options: config.delivery,
    metrics,
  });
  const reports = createReportService({ db, clock, tz: config.reportTz, minSample: config.minSample, definitions, metrics });
  const privacy = createPrivacyService({ db, ledger, clock, addressHash, mailDir: config.mailDir, retentionDays: config.retentionDays });
  const unsubscribe = createUnsubscribeService({ db, clock, surveys });
  const followups = createFollowupService({ db, clock, hookUrls: config.ratingWebhooks.urls });
  const api = createApiService({ surveys, ratings, followups });
  const tickets = createTicketWebhookService({ surveys });
  const users = createUserService({ db, clock });
  const audit = createAuditService({ db, clock, retentionDays: config.auditRetentionDays });
  const signin = createSigninService({ db, clock, logger: logger.child({ component: 'signin' }), mailer, views, users, publicUrl: config.publicUrl, mailFrom: config.mailFrom, times: config.sessions });
  const sso = config.sso && createSso(config.sso, config.publicUrl);
  return { config, db, logger, clock, metrics, views, definitions, mailer, ledger, surveys, ratings, worker, hooks, reminders, leadAlerts, reports, addressHash, privacy, unsubscribe, api, tickets, followups, users, audit, signin, sso };
}

export type Services = ReturnType<typeof createServices>;
