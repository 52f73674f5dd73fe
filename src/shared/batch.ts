import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Db } from './db';
import { isWaitExhausted } from './errors';

/** What a batch writer says about one item: its answer, or why that item alone was refused (nothing of it written). */
export type ItemOutcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export type BatchWriter<I, O> = {
  /** Resolves once the transaction holding this item has committed; rejects if it did not. */
  submit(item: I): Promise<O>;
};

export type BatchOptions<I, O> = {
  db: Db;
  /** The most items one transaction takes. */
  maxItems: number;
  /**
   * Writes all `items` in `trx` and answers for each, in order. An item it refuses must have
   * written nothing; throwing rolls the whole transaction back.
   */
  write: (trx: Knex.Transaction, items: I[]) => Promise<ItemOutcome<O>[]>;
  /** Told the size of each committed transaction (metrics). */
  onCommit?: (size: number) => void;
};

/**
 * The most turns of the event loop a transaction that has begun waits for more items, while each
 * turn brings some (see createBatchWriter).
 */
export const GATHER_TURNS = 8;

/**
 * Group commit: one write transaction at a time; requests that arrive while it runs wait and
 * share the next one. Nothing waits for company: an item arriving at an idle writer begins a
 * transaction at once, and the items arriving until that BEGIN has come back join it (the waiting
 * items are taken then, not before: BEGIN costs a trip through the thread pool on SQLite, a round
 * trip on PostgreSQL, and the requests answered by the previous transaction send their next ones
 * meanwhile). Once BEGIN is back, items that are still arriving, one per turn of the event loop as
 * it parses their requests, join too: the transaction lets the loop turn (setImmediate) while a
 * turn brings more, up to GATHER_TURNS turns, and takes the items when one brings none. Taken at
 * once, a loop of clients answered together would split into two transactions taking turns, each
 * paying a transaction's fixed cost (BENCHMARKS.md, "Items gathered while they arrive"). Under
 * load each transaction (one fsync on SQLite, one round trip of COMMIT on PostgreSQL, and a
 * handful of multi-row statements) carries many requests. Every item is answered only after its
 * transaction committed, so an acknowledged request is on disk, and a failed one left nothing.
 * If a shared transaction fails, each of its items is tried again alone, so one item that cannot
 * be written (a constraint another instance raced us to) fails only itself; but when it failed
 * waiting for the database (another process held SQLite's write lock for all of busy_timeout),
 * every item fails at once: alone, each would wait as long again.
 */
export function createBatchWriter<I, O>(options: BatchOptions<I, O>): BatchWriter<I, O> {
  type Waiting = { item: I; resolve: (value: O) => void; reject: (error: unknown) => void };
  const queue: Waiting[] = [];
  let writing = false;

  /**
   * Writes the items `take` answers, taken once the transaction has begun (and, with `gather`,
   * once items stop arriving), in that transaction; answers how to settle them, which drain does.
   */
  async function commit(take: () => Waiting[], gather: boolean): Promise<() => void> {
    let taken: Waiting[] | undefined;
    const items = () => (taken ??= take());
    let outcomes: ItemOutcome<O>[];
    try {
      outcomes = await options.db.transaction(async (trx) => {
        if (gather) await gathered();
        return options.write(trx, items().map((w) => w.item));
      });
    } catch (err) {
      const batch = items();
      if (batch.length === 1 || isWaitExhausted(err)) return () => batch.forEach((waiting) => waiting.reject(err));
      for (const waiting of batch) (await commit(() => [waiting], false))();
      return () => {};
    }
    const batch = items();
    return () => {
      options.onCommit?.(batch.length);
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) waiting.resolve(outcome.value);
        else waiting.reject(outcome ? outcome.error : new Error('the batch writer gave no answer for this item'));
      });
    };
  }

  /** Lets the event loop turn while each turn adds to the queue: up to GATHER_TURNS turns, or until a batch is full. */
  async function gathered(): Promise<void> {
    for (let turn = 0, seen = -1; turn < GATHER_TURNS && queue.length !== seen && queue.length < options.maxItems; turn++) {
      seen = queue.length;
      await nextTurn();
    }
  }

  /**
   * Transactions one after another while items wait. A committed transaction's items are answered
   * once the next transaction is on its way (in the same turn of the event loop): answering them
   * (the responses, their log lines) is main-thread work, and done first it would keep the next
   * BEGIN waiting for it while the database idles.
   */
  async function drain(): Promise<void> {
    let answer: (() => void) | undefined;
    try {
      while (queue.length > 0) {
        const next = commit(() => queue.splice(0, options.maxItems), true);
        if (answer) setImmediate(answer);
        answer = await next;
      }
    } finally {
      writing = false;
      answer?.();
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (writing) return;
        writing = true;
        void drain();
      });
    },
  };
}
