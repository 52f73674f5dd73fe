import type { ScheduleOutcome } from '../surveys/types';
import type { Answer, Receipted, RequestKey } from '../surveys/receipts';
import type { CancelOutcome, SurveyService } from '../surveys/service';
import type { Adapter, AdapterResult, InboundRequest } from './adapters';
import { requestKey } from './replay';

/** How every ticket-closed endpoint answers: 202 scheduled, 200 duplicate or suppressed with its reason. */
export function scheduleAnswer(outcome: ScheduleOutcome): Answer {
  if (outcome.status === 'scheduled') return { status: 202, body: { survey_id: outcome.surveyId, status: 'scheduled' } };
  if (outcome.status === 'duplicate') return { status: 200, body: { survey_id: outcome.surveyId, status: 'duplicate' } };
  return { status: 200, body: { survey_id: outcome.surveyId, status: 'suppressed', reason: outcome.reason } };
}

/** How every reopen answers: 200 with what happened to the survey. */
export const cancelAnswer = (outcome: CancelOutcome): Answer => ({ status: 200, body: outcome });

/**
 * Each helpdesk's request, as replays are told apart (replay.ts, docs/helpdesks.md "Replays"):
 * Zendesk signs its timestamp with the body and names each invocation in a header outside the
 * signature; Intercom names each notification by the `id` inside its signed body; Help Scout and
 * Freshdesk send neither, so their body alone is the request.
 */
export function replayKey(source: Adapter['source'], inbound: InboundRequest, json: unknown): RequestKey {
  if (source === 'zendesk') {
    const timestamp = inbound.header('x-zendesk-webhook-signature-timestamp');
    return requestKey(source, inbound.rawBody, { timestamp, eventId: inbound.header('x-zendesk-webhook-invocation-id'), eventIdSigned: false });
  }
  if (source === 'intercom') {
    const notification = json !== null && typeof json === 'object' ? (json as { id?: unknown }) : {};
    return requestKey(source, inbound.rawBody, { eventId: notification.id, eventIdSigned: true });
  }
  return requestKey(source, inbound.rawBody);
}

export type TicketWebhookService = ReturnType<typeof createTicketWebhookService>;

/** What a verified helpdesk event does, once per request (a replay gets the first answer): a close schedules, a reopen cancels, anything else is ignored. */
export function createTicketWebhookService(deps: { surveys: SurveyService }) {
  const { surveys } = deps;
  return {
    handle(result: AdapterResult, key: RequestKey, requestId?: string): Promise<Receipted> {
      if (result.kind === 'ignored') return surveys.ignoreOnce(key, { status: 200, body: { status: 'ignored', reason: result.reason } });
      if (result.kind === 'reopened') return surveys.cancelSurveyOnce(result.source, result.ticketId, { key, answer: cancelAnswer });
      return surveys.scheduleSurveyOnce(result.ticket, { key, answer: scheduleAnswer }, { requestId });
    },
  };
}
