import type { Knex } from 'knex';
import { insertRows } from '../shared/statements';

/** An event for the rating webhook receivers: the survey it is about, its JSON body, when it happened. */
export type QueuedEvent = { surveyId: string; body: Record<string, unknown>; at: Date };

/**
 * Queues events for every receiver in `urls`, in the caller's transaction (the rating or change
 * that made them commits with them, or neither does): one `hook_outbox` row per event and
 * receiver, in one statement. The worker (worker.ts) posts them, one survey's in order.
 */
export async function queueEvents(trx: Knex.Transaction, urls: readonly string[], events: readonly QueuedEvent[]): Promise<void> {
  const rows = events.flatMap((e) => {
    const body = JSON.stringify(e.body);
    return urls.map((url) => [e.surveyId, url, body, 'pending', e.at, 0, e.at, e.at]);
  });
  await insertRows(trx, 'hook_outbox', ['survey_id', 'url', 'body', 'status', 'due_at', 'attempts', 'created_at', 'updated_at'], rows);
}
