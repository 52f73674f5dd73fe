import type { Knex } from 'knex';
import { toDate, type Db } from '../shared/db';
import { inList, insertRows, query } from '../shared/statements';

/**
 * Receipts of webhook requests (table webhook_receipts, written only here and only inside the
 * transaction of the request's own effect): an authenticated request that changed, or could have
 * changed, surveys leaves its answer; a request identical to it within RECEIPT_DAYS gets that answer
 * again and changes nothing. webhooks/replay.ts says what "identical" means for each source.
 */

/** How long an answer is kept: a replay within this many days is answered from its receipt. */
export const RECEIPT_DAYS = 7;
const DAY_MS = 86_400_000;

/**
 * What makes two requests the same one: `digest`, a SHA-256 (hex) over the source and the bytes the
 * request's credential covers, and, where the helpdesk names its events, `eventKey`, a SHA-256 over
 * the source and that name. Either one seen within RECEIPT_DAYS makes a request a replay.
 */
export type RequestKey = { source: string; digest: string; eventKey: string | null };

/** What a request was answered: HTTP status and JSON body. */
export type Answer = { status: number; body: unknown };

/** A request's answer and whether it is a replay (answered from a receipt, nothing done). */
export type Receipted = Answer & { replayed: boolean };

type Stored = { digest: string; eventKey: string | null; source: string; answer: Answer; createdAt: Date };

/**
 * Freshdesk's body is all that can tell two of its requests apart (no time, no event id, nothing
 * signed), so a genuine resolve → reopen → resolve of an unchanged ticket looks like a replay. Its
 * receipts count only as long as Freshdesk retries a failed webhook (5, 30 and 60 minutes apart:
 * docs/helpdesks.md), so such a second close is surveyed again after that.
 */
export const FRESHDESK_RECEIPT_MS = 2 * 3_600_000;

/** Receipts stored before this instant no longer make a request of `source` a replay. */
export const receiptsSince = (now: Date, source?: string) => new Date(now.getTime() - (source === 'freshdesk' ? FRESHDESK_RECEIPT_MS : RECEIPT_DAYS * DAY_MS));

/** The receipts stored under any of these keys, however old (an expired one is still in the way of a new one with its key). */
export async function findReceipts(trx: Knex.Transaction, keys: readonly RequestKey[]): Promise<Stored[]> {
  if (keys.length === 0) return [];
  const digests = inList(keys.map((k) => k.digest));
  const events = inList(keys.flatMap((k) => (k.eventKey ? [k.eventKey] : [])));
  const rows = await query<{ digest: string; event_key: string | null; source: string; status: number; body: string; created_at: unknown }>(
    trx,
    `SELECT "digest", "event_key", "source", "status", "body", "created_at" FROM "webhook_receipts" WHERE "digest" IN ${digests.sql} OR "event_key" IN ${events.sql}`,
    [...digests.params, ...events.params],
  );
  return rows.map((r) => ({
    digest: r.digest,
    eventKey: r.event_key,
    source: r.source,
    answer: { status: Number(r.status), body: JSON.parse(r.body) },
    createdAt: toDate(r.created_at),
  }));
}

/**
 * The receipts a transaction decides with: those still counting at `now` (receiptsSince), and those it adds itself
 * (two identical requests in one batch: the second is a replay of the first). `expired` are the
 * older ones found under the same keys, to delete before the new receipts go in.
 */
export function receiptIndex(stored: readonly Stored[], now: Date) {
  const byDigest = new Map<string, Answer>();
  const byEvent = new Map<string, Answer>();
  const expired: string[] = [];
  const add = (key: Pick<RequestKey, 'digest' | 'eventKey'>, answer: Answer) => {
    byDigest.set(key.digest, answer);
    if (key.eventKey) byEvent.set(key.eventKey, answer);
  };
  for (const s of stored) {
    if (s.createdAt < receiptsSince(now, s.source)) expired.push(s.digest);
    else add(s, s.answer);
  }
  return {
    expired,
    add,
    match: (key: RequestKey): Answer | undefined => byDigest.get(key.digest) ?? (key.eventKey ? byEvent.get(key.eventKey) : undefined),
  };
}

export async function insertReceipts(trx: Knex.Transaction, receipts: ReadonlyArray<{ key: RequestKey; answer: Answer; now: Date }>): Promise<void> {
  await insertRows(
    trx,
    'webhook_receipts',
    ['digest', 'event_key', 'source', 'status', 'body', 'created_at'],
    receipts.map(({ key, answer, now }) => [key.digest, key.eventKey, key.source, answer.status, JSON.stringify(answer.body), now]),
  );
}

export async function deleteReceipts(trx: Knex.Transaction, digests: readonly string[]): Promise<void> {
  if (digests.length) await trx('webhook_receipts').whereIn('digest', [...new Set(digests)]).delete();
}

/** Deletes the receipts older than RECEIPT_DAYS before `now`; answers how many. */
export async function pruneReceipts(db: Db, now: Date): Promise<number> {
  return db('webhook_receipts').where('created_at', '<', receiptsSince(now)).delete();
}
