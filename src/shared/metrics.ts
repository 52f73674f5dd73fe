import client from 'prom-client';

/**
 * Every metric Closeloop exports, in one registry per app (tests build many apps). Label values
 * come from the closed sets below or from our own route patterns, never from request data.
 */
export const WEBHOOK_SOURCES = ['generic', 'zendesk', 'helpscout', 'freshdesk', 'intercom', 'unknown'] as const;
export const WEBHOOK_RESULTS = ['scheduled', 'duplicate', 'suppressed', 'cancelled', 'ignored', 'replayed', 'unauthorized', 'rejected', 'rate_limited', 'unavailable', 'error', 'other'] as const;
export const SEND_FAILURES = ['temporary', 'permanent'] as const;
export const RATING_KINDS = ['first', 'changed', 'comment'] as const;
export const SCANNER_KINDS = ['multi_score', 'decoy'] as const;
export const REPORTS = ['agents', 'agent', 'trend', 'variants', 'ratings'] as const;
export const WRITE_BATCHES = ['schedule', 'rating'] as const;
export const OUTBOXES = ['email', 'hook', 'reminder', 'lead_alert'] as const;
export const MESSAGE_KINDS = ['reminder', 'lead_alert'] as const;
export const OUTBOX_TRANSITIONS = ['sent', 'failed', 'retry', 'cancel'] as const;
export type OutboxTransition = (typeof OUTBOX_TRANSITIONS)[number];

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'closeloop_process_' });
  const make = {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new client.Counter<L>({ name, help, labelNames: [...labelNames], registers: [registry] }),
    histogram: <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new client.Histogram<L>({ name, help, labelNames: [...labelNames], buckets, registers: [registry] }),
  };
  return {
    registry,
    webhooks: make.counter('closeloop_webhooks_total', 'Webhooks received, by source (generic or helpdesk adapter) and result.', ['source', 'result']),
    sendAttempts: make.counter('closeloop_send_attempts_total', 'Survey emails handed to the mail transport (each retry counts).'),
    sent: make.counter('closeloop_emails_sent_total', 'Survey emails accepted by the mail transport.'),
    messagesSent: make.counter('closeloop_messages_sent_total', 'Emails other than the survey accepted by the mail transport, by kind: reminder (REMINDER_AFTER_HOURS), lead_alert (a low rating).', ['kind']),
    messagesNotSent: make.counter(
      'closeloop_messages_not_sent_total',
      'Reminders and lead alerts that ended unsent, by kind and reason (failed: the transport refused them for good; for reminders also rated, unsubscribed, erased, expired, not_sent, as decided when due).',
      ['kind', 'reason'],
    ),
    sendFailures: make.counter('closeloop_send_failures_total', 'Failed sends: temporary ones are retried, permanent ones fail the survey.', ['kind']),
    lostClaims: make.counter(
      'closeloop_outbox_lost_claims_total',
      'Outbox transitions refused because the worker no longer held its claim (its lease ran out and another worker took the row, or it was cancelled); nothing was changed.',
      ['outbox', 'transition'],
    ),
    ratings: make.counter('closeloop_ratings_total', 'Ratings recorded: first score, changed score, comment added or changed.', ['kind']),
    ratingAttempts: make.counter(
      'closeloop_rating_attempts_total',
      'Rating POSTs by source (page: posted by the page itself; form: the customer\'s own submit) and outcome (pending, counted, discarded, ignored).',
      ['source', 'outcome'],
    ),
    scannerHits: make.counter('closeloop_scanner_hits_total', 'Rating-link requests that look like a mail scanner, not a person.', ['kind']),
    httpDuration: make.histogram(
      'closeloop_http_request_duration_seconds',
      'HTTP requests by method, route pattern and status class.',
      ['method', 'route', 'status'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    writeBatchSize: make.histogram(
      'closeloop_write_batch_size',
      'Requests committed together in one write transaction (group commit), by kind: near 1 means the database keeps up at once, large means requests queue behind it.',
      ['kind'],
      [1, 2, 4, 8, 16, 32, 64],
    ),
    reportDuration: make.histogram('closeloop_report_duration_seconds', 'Report computations (one read transaction each), by report.', ['report'], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    /** Gauges read from the database at scrape time (ops/collect.ts). */
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: client.Gauge<L>) => Promise<void>) =>
      new client.Gauge<L>({
        name,
        help,
        labelNames: [...labelNames],
        registers: [registry],
        async collect() {
          await collect(this);
        },
      }),
  };
}

/** Times `work` into a histogram with fixed labels; the time is recorded whether it succeeds or fails. */
export async function timed<T, L extends string>(histogram: client.Histogram<L>, labels: Partial<Record<L, string>>, work: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer(labels);
  try {
    return await work();
  } finally {
    end();
  }
}
