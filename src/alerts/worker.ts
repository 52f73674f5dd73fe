import type { Db } from '../shared/db';
import type { Clock } from '../shared/clock';
import { maskEmails, type Logger } from '../shared/logger';
import type { Views } from '../shared/views';
import type { Metrics, OutboxTransition } from '../shared/metrics';
import { createOutboxPoller, failOrRetry, type WorkerOptions } from '../shared/outbox-poller';
import { asDeliveryError, type Mailer } from '../delivery/mailer';
import type { AlertBody } from './message';
import * as repo from './repository';

/** The email to a team's leads: one alert, or a digest of several (ALERT_DIGEST_MINUTES). */
export function renderAlertEmail(views: Views, alerts: readonly AlertBody[], leadsKey: string) {
  const first = alerts[0];
  const team = leadsKey === '*' ? null : leadsKey;
  const subject =
    alerts.length === 1
      ? `Low rating ${first.score}/5${first.agent ? ` for ${first.agent.name ?? first.agent.id}` : ''} on ticket ${first.ticket_id}`
      : `${alerts.length} low ratings${team ? ` in ${team}` : ''}`;
  const context = { subject, team, alerts: alerts.map((a) => ({ ...a, lines: a.text.split('\n') })) };
  return { subject, html: views.email('alert.html', context), text: views.email('alert.text', context) };
}

/**
 * A stable Message-ID per alert email (its first alert's id), so a re-send after a crash is
 * recognisably the same message; it holds the first alert's survey id, by which erasure finds an
 * .eml file in MAIL_DIR (delivery/mail-files.ts).
 */
export const alertMessageId = (email: Pick<repo.AlertEmail, 'id' | 'alerts'>, mailFrom: string) =>
  `<alert.${email.alerts[0]?.survey_id ?? 'none'}.${email.id}@${/@([^>\s]+)/.exec(mailFrom)?.[1] ?? 'localhost'}>`;

/**
 * Emails low-rating alerts to each team's leads (definitions file: teams, default_leads) from the
 * lead_alerts outbox: retried with backoff up to DELIVERY_MAX_ATTEMPTS, a 5xx fails at once; marked
 * sent only after the transport accepted it, so a crash in between re-sends the same Message-ID
 * rather than losing the alert.
 */
export function createLeadAlertWorker(deps: { db: Db; clock: Clock; logger: Logger; views: Views; mailer: Mailer; mailFrom: string; digestMinutes: number; options: WorkerOptions; metrics?: Metrics }) {
  const { db, clock, logger, options } = deps;

  function lostClaim(email: repo.AlertEmail, transition: OutboxTransition) {
    deps.metrics?.lostClaims.inc({ outbox: 'lead_alert', transition });
    logger.warn({ alertId: email.id, attempt: email.attempts, transition }, 'lead alert no longer held by this claim (lease ran out): left unchanged');
  }

  async function send(email: repo.AlertEmail): Promise<void> {
    const log = logger.child({ alertId: email.id, attempt: email.attempts, alerts: email.alerts.length });
    const rendered = renderAlertEmail(deps.views, email.alerts, email.leadsKey);
    try {
      await deps.mailer.send({ to: email.recipient, from: deps.mailFrom, ...rendered, messageId: alertMessageId(email, deps.mailFrom) });
    } catch (err) {
      return failOrRetry(asDeliveryError(err), {
        attempts: email.attempts,
        options,
        now: clock.now(),
        log,
        storedError: maskEmails,
        endFailed: async (error, now) => {
          const ended = await repo.markAlertFailed(db, email, error, now);
          if (ended) deps.metrics?.messagesNotSent.inc({ kind: 'lead_alert', reason: 'failed' }, email.alerts.length);
          return ended;
        },
        retry: (dueAt, error, now) => repo.markAlertRetry(db, email, dueAt, error, now),
        lostClaim: (transition) => lostClaim(email, transition),
        messages: { failed: 'lead alert failed for good', retried: 'lead alert will be retried' },
      });
    }
    if (!(await repo.markAlertSent(db, email, clock.now()))) return lostClaim(email, 'sent');
    deps.metrics?.messagesSent.inc({ kind: 'lead_alert' }, email.alerts.length);
    log.info('lead alert sent');
  }

  return createOutboxPoller({
    clock,
    logger,
    options,
    claim: (now, leaseUntil, limit) => repo.claimDueAlerts(db, now, leaseUntil, limit, deps.digestMinutes > 0),
    handle: send,
    messages: { stepFailed: 'lead alert step failed; it returns after its lease', pollFailed: 'lead alert poll failed' },
  });
}
