import type { Knex } from 'knex';
import { nextStep } from './backoff';
import type { Clock } from './clock';
import { maskEmails, safeError, type Logger } from './logger';

/** DELIVERY_*: how every outbox is worked (email delivery and rating webhooks alike). */
export type WorkerOptions = {
  maxAttempts: number;
  retryBaseSeconds: number;
  pollMs: number;
  concurrency: number;
  leaseSeconds: number;
};

/**
 * A claim on an outbox row (`outbox`, `hook_outbox`): `attempts` (counted up by each claim) and
 * `leaseUntil` together are the claim. Every transition changes the row only while it is still
 * pending under both, so a worker whose lease ran out (another one claimed the row since, or a
 * reopen cancelled it) changes nothing.
 */
export type Claim = { id: number; attempts: number; leaseUntil: Date };

/** The claim of `row`, as a WHERE clause on its outbox table and its parameters. */
export const HELD = `id = ? AND status = 'pending' AND attempts = ? AND locked_until = ?`;
export const held = (row: Claim) => [row.id, row.attempts, row.leaseUntil];

/** Narrows `q` to an outbox's rows that are due at `now` and under no live lease (`t`: the table's alias and a dot, if any). */
export const dueAndFree = <Q extends Knex.QueryBuilder>(q: Q, now: Date, t = ''): Q =>
  q
    .where(`${t}status`, 'pending')
    .andWhere(`${t}due_at`, '<=', now)
    .andWhere((w) => w.whereNull(`${t}locked_until`).orWhere(`${t}locked_until`, '<=', now)) as Q;

/** Claims the rows `ids` of `table` until `leaseUntil`, counting the attempt; the caller's transaction holds them meanwhile. */
export const leaseRows = (trx: Knex.Transaction, table: string, ids: readonly number[], leaseUntil: Date, now: Date) =>
  trx(table).whereIn('id', ids).update({ locked_until: leaseUntil, attempts: trx.raw('attempts + 1'), updated_at: now });

export type OutboxPoller = ReturnType<typeof createOutboxPoller>;

/**
 * The one loop that works an outbox: claim due rows under a lease (`claim`), handle each
 * (`handle`: send it, then end or retry it under its claim), keep up to `concurrency` in flight and
 * claim again as soon as one ends, poll every `pollMs` when idle, and look at once when woken.
 * A row whose handling threw returns after its lease; nothing is lost. `stop` stops claiming and
 * waits for the rows in flight.
 */
export function createOutboxPoller<Row>(deps: {
  clock: Clock;
  logger: Logger;
  options: Pick<WorkerOptions, 'pollMs' | 'concurrency' | 'leaseSeconds'>;
  claim: (now: Date, leaseUntil: Date, limit: number) => Promise<Row[]>;
  handle: (row: Row) => Promise<void>;
  /** Log messages: a row's handling threw; a poll (a claim) failed. */
  messages: { stepFailed: string; pollFailed: string };
}) {
  const { clock, logger, options } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;
  let stopping = false;
  let wakeRequested = false;

  /** Handles due rows until none is due; answers how many it handled. */
  async function drain(): Promise<number> {
    let handled = 0;
    const inFlight = new Set<Promise<void>>();
    while (!stopping) {
      const free = options.concurrency - inFlight.size;
      const now = clock.now();
      const rows = free > 0 ? await deps.claim(now, new Date(now.getTime() + options.leaseSeconds * 1000), free) : [];
      for (const row of rows) {
        const step: Promise<void> = deps
          .handle(row)
          .catch((err) => logger.error({ err: safeError(err) }, deps.messages.stepFailed))
          .finally(() => inFlight.delete(step));
        inFlight.add(step);
      }
      handled += rows.length;
      if (inFlight.size === 0) break;
      await Promise.race(inFlight); // a place is free again (or it was not full): claim what is due now
    }
    await Promise.all(inFlight);
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
      .catch((err) => logger.error({ err: safeError(err) }, deps.messages.pollFailed))
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
    /** Something is due now: look sooner than the next poll. */
    wake() {
      if (!started || stopping) return;
      if (running) wakeRequested = true;
      else schedule(0);
    },
    /** Stops claiming new work and waits for the rows in flight. */
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
    },
    drain,
  };
}

/**
 * After a send failed: end the row as failed when backoff.ts `nextStep` says so (a permanent
 * failure, or the attempts ran out), else make it due again after the backoff; both under the row's
 * claim, so one that found its claim gone changes nothing and goes to `lostClaim` instead. The row
 * keeps `storedError(failure.message)`; the log line masks the addresses. The one failure path of
 * the mail outboxes (delivery, reminders, lead alerts).
 */
export async function failOrRetry(
  failure: { message: string; temporary: boolean },
  step: {
    /** The claim's attempt: the one that just failed. */
    attempts: number;
    options: Pick<WorkerOptions, 'maxAttempts' | 'retryBaseSeconds'>;
    now: Date;
    log: Logger;
    /** The error as the row keeps it (addresses removed or masked). */
    storedError: (message: string) => string;
    /** Ends the row as failed; answers false if the claim no longer held. */
    endFailed: (error: string, now: Date) => Promise<boolean>;
    /** Makes the row due again at `dueAt`; answers false if the claim no longer held. */
    retry: (dueAt: Date, error: string, now: Date) => Promise<boolean>;
    lostClaim: (transition: 'failed' | 'retry') => void;
    /** Log messages: the row failed for good; it will be retried. */
    messages: { failed: string; retried: string };
  },
): Promise<void> {
  const { now, log } = step;
  const error = step.storedError(failure.message);
  const next = nextStep(step.attempts, failure, step.options, now);
  if (!next.retry) {
    if (!(await step.endFailed(error, now))) return step.lostClaim('failed');
    log.warn({ error: maskEmails(failure.message), temporary: failure.temporary }, step.messages.failed);
  } else {
    if (!(await step.retry(next.dueAt, error, now))) return step.lostClaim('retry');
    log.info({ error: maskEmails(failure.message), retryInMs: next.delayMs }, step.messages.retried);
  }
}
