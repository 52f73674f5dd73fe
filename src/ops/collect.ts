import type { Db } from '../shared/db';
import { toDate } from '../shared/db';
import type { Clock } from '../shared/clock';
import type { Metrics } from '../shared/metrics';
import { SUPPRESSION_REASONS } from '../surveys/eligibility';
import { ROLLUP_TABLE } from '../surveys/counters/rollup';

const FINAL_STATUSES = ['sent', 'failed', 'suppressed', 'cancelled'] as const;

/**
 * Gauges read at scrape time, each from a small table or an index: survey totals from the
 * rollup's year rows (exact, kept with every write), queues from the outbox tables.
 * Gauges whose query fails are left out of that scrape; closeloop_database_up says why.
 */
export function registerDatabaseGauges(metrics: Metrics, db: Db, clock: Clock) {
  /** Totals of some rollup counters over all time: the year rows hold every survey exactly once. */
  const allTime = async (columns: readonly string[]): Promise<Record<string, number>> => {
    const row = await db(ROLLUP_TABLE)
      .whereRaw('length(period) = 4')
      .first(columns.map((c) => db.raw('COALESCE(SUM(??), 0) AS ??', [c, c])));
    return Object.fromEntries(columns.map((c) => [c, Number(row?.[c] ?? 0)]));
  };
  const guarded = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch {
      // closeloop_database_up is 0 in the same scrape
    }
  };

  metrics.gauge('closeloop_surveys', 'Surveys by status (scheduled = waiting in the outbox).', ['status'], (g) =>
    guarded(async () => {
      g.reset();
      const totals = await allTime(FINAL_STATUSES);
      for (const s of FINAL_STATUSES) g.set({ status: s }, totals[s]);
      const waiting = await db('outbox').where({ status: 'pending' }).count({ n: '*' }).first();
      g.set({ status: 'scheduled' }, Number(waiting?.n ?? 0));
    }),
  );

  metrics.gauge('closeloop_surveys_suppressed', 'Suppressed surveys by reason.', ['reason'], (g) =>
    guarded(async () => {
      g.reset();
      const totals = await allTime(SUPPRESSION_REASONS.map((r) => `suppressed_${r}`));
      for (const r of SUPPRESSION_REASONS) g.set({ reason: r }, totals[`suppressed_${r}`]);
    }),
  );

  const outboxes = [
    ['outbox', 'closeloop_outbox', 'survey emails'],
    ['hook_outbox', 'closeloop_hook_outbox', 'rating webhook events'],
    ['reminders', 'closeloop_reminders', 'reminder emails'],
    ['lead_alerts', 'closeloop_lead_alerts', 'lead alert emails'],
  ] as const;
  for (const [table, name, what] of outboxes) {
    const due = () => db(table).where({ status: 'pending' }).andWhere('due_at', '<=', clock.now());
    metrics.gauge(`${name}_due`, `Pending ${what} that are due now.`, [], (g) =>
      guarded(async () => g.set(Number((await due().count({ n: '*' }).first())?.n ?? 0))),
    );
    metrics.gauge(`${name}_oldest_due_seconds`, `Age of the oldest due pending ${what} (0 when none): how far behind the worker is.`, [], (g) =>
      guarded(async () => {
        const oldest = (await due().min({ at: 'due_at' }).first())?.at;
        g.set(oldest ? Math.max(0, (clock.now().getTime() - toDate(oldest).getTime()) / 1000) : 0);
      }),
    );
  }

  metrics.gauge('closeloop_database_up', '1 when the database answered during this scrape, else 0.', [], async (g) => {
    try {
      await db.raw('SELECT 1');
      g.set(1);
    } catch {
      g.set(0);
    }
  });
}
