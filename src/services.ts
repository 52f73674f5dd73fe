import type { Config } from './config';
import type { Db } from './shared/db';
import type { Clock } from './shared/clock';
import type { Logger } from './shared/logger';
import { createViews } from './shared/views';
import { createSurveyService } from './surveys/service';
import { createRatingService } from './ratings/service';
import { createMailer, type Mailer } from './delivery/mailer';
import { createDeliveryWorker } from './delivery/worker';

/** Wires the areas together once; main.ts and the tests both start from here. */
export function createServices(args: { config: Config; db: Db; logger: Logger; clock: Clock; mailer?: Mailer }) {
  const { config, db, logger, clock } = args;
  const views = createViews();
  const mailer = args.mailer ?? createMailer({ smtpUrl: config.smtpUrl, mailDir: config.mailDir });
  let wakeWorker = () => {};
  const surveys = createSurveyService({
    db,
    clock,
    publicUrl: config.publicUrl,
    surveyDelayMinutes: config.surveyDelayMinutes,
    tokenTtlDays: config.tokenTtlDays,
    onScheduled: () => wakeWorker(),
  });
  const ratings = createRatingService({ db, clock, surveys, ratingChangeDays: config.ratingChangeDays });
  const worker = createDeliveryWorker({
    db,
    clock,
    logger: logger.child({ component: 'delivery' }),
    views,
    mailer,
    surveys,
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    options: config.delivery,
  });
  wakeWorker = worker.wake;
  return { config, db, logger, clock, views, mailer, surveys, ratings, worker };
}

export type Services = ReturnType<typeof createServices>;
