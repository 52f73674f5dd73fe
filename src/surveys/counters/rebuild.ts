import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../../shared/db';
import { isPostgres, toDate } from '../../shared/db';
import { addDaysTo, localDay, startOfDay } from '../../shared/period';
import { query, together } from '../../shared/statements';
import { CONTRIBUTION_SQL, COUNTERS, KEY_COLUMNS } from './ledger';
import { addDaysSql, addingOnConflict } from './rollup';
import { LIVE_TZ_KEY, NEXT, parseRebuild, readState, REBUILD_KEY, rebuildValue, type Rebuild } from './state';
import { createNextTables, dropTables, OLD, swapTables } from './tables';

/*
 * Rebuilding the report counters while the service runs (`npm run stats:rebuild`, a REPORT_TZ change):
 *
 * 1. Claim: create empty `_next` tables and a `stats_rebuild` row (zone, cursor, owner) in report_meta.
 * 2. Scan: in short write transactions, count the surveys closed in the next few local days (one
 *    GROUP BY in SQL, with the ledger's `contribution` written as SQL) into the `_next` tables and
 *    move the cursor past them. Meanwhile the ledger (ledger.ts) writes every change of a survey closed
 *    before the cursor into the `_next` tables too, so they always equal a recompute of the surveys
 *    behind the cursor: a stopped rebuild resumes where it was.
 * 3. Swap: when no survey is left after the cursor, in the same transaction as the last step, rename
 *    the `_next` tables into place and set `stats_tz`. The old tables are dropped after.
 *
 * Live counters keep counting in their own zone until the swap; reports answer 503 while that is not
 * REPORT_TZ (reports/service.ts), never a mix of the two.
 */

/** Surveys counted per scan step, at most (a step takes whole local days): each step holds the write lock for its time. */
export const DEFAULT_BATCH = 20_000;
/** The most local days one step takes (they are spelled out in its SQL). */
const MAX_DAYS = 62;
/** A runner whose last step is older than this is taken over. */
const STALE_MS = 60_000;

export type RebuildOptions = {
  batch?: number;
  /** Checked between steps: the rebuild stops there, to be resumed later. */
  signal?: AbortSignal;
  /** After each step: surveys counted so far and the cursor. Awaited before the next step. */
  onStep?: (progress: { surveys: number; cursor: Date }) => void | Promise<void>;
};
export type RebuildResult = { surveys: number; rows: number; steps: number };

/** Who runs this process's rebuilds. */
const OWNER = randomUUID();

/** A write transaction holding the rebuild row: FOR UPDATE on PostgreSQL (SQLite's write lock already excludes the ledger). */
async function lockedRebuild(trx: Knex.Transaction): Promise<Rebuild | null> {
  const [row] = await query<{ value: string }>(trx, `SELECT "value" FROM report_meta WHERE "key" = ?${isPostgres(trx) ? ' FOR UPDATE' : ''}`, [REBUILD_KEY]);
  return parseRebuild(row?.value);
}

const saveRebuild = (trx: Knex.Transaction, r: Rebuild) => trx('report_meta').insert({ key: REBUILD_KEY, value: rebuildValue(r) }).onConflict('key').merge();

/**
 * Starts a rebuild into `tz`, or takes over one into `tz` whose runner went silent. Answers the
 * rebuild row this process now owns, or the one another live runner holds.
 */
async function claim(db: Db, tz: string, now: number): Promise<{ mine: boolean; rebuild: Rebuild }> {
  return db.transaction(async (trx) => {
    // Every transaction that wrote a survey has finished, and new ones wait: each reads the rebuild row after this commits.
    // (SHARE ROW EXCLUSIVE also keeps two instances from claiming at once.)
    if (isPostgres(trx)) await trx.raw('LOCK TABLE surveys IN SHARE ROW EXCLUSIVE MODE');
    const current = await lockedRebuild(trx);
    if (current && current.owner !== OWNER && now - current.beat < STALE_MS) return { mine: false, rebuild: current };
    if (current && current.tz === tz) {
      const resumed = { ...current, owner: OWNER, beat: now };
      await saveRebuild(trx, resumed);
      return { mine: true, rebuild: resumed };
    }
    await dropTables(trx, OLD);
    await dropTables(trx, NEXT);
    const fresh: Rebuild = { tz, cursor: null, owner: OWNER, beat: now, generation: now };
    await createNextTables(trx, fresh.generation);
    await saveRebuild(trx, fresh);
    return { mine: true, rebuild: fresh };
  });
}

const DAY_NEXT = `agent_day_stats${NEXT}`;

/**
 * Counts the surveys closed in [?, ?) into the `_next` day counters, each on its local day: the
 * first `days - 1` parameter pairs are (end of a day, that day), then the last day. One GROUP BY
 * in the database, with `contribution` written as SQL (CONTRIBUTION_SQL); groups of surveys that
 * count nowhere yet (all scheduled) write no row, as the ledger writes none.
 */
const daysSql = (days: number) =>
  `INSERT INTO ${DAY_NEXT} (day, ${KEY_COLUMNS.join(', ')}, ${COUNTERS.join(', ')})
   SELECT ${days === 1 ? 'CAST(? AS VARCHAR(10))' : `CASE ${'WHEN closed_at < ? THEN CAST(? AS VARCHAR(10)) '.repeat(days - 1)}ELSE CAST(? AS VARCHAR(10)) END`},
     COALESCE(agent_id, ''), COALESCE(team, ''), COALESCE(brand, ''), question_id, COALESCE(variant, ''),
     ${COUNTERS.map((c) => `SUM(CASE WHEN ${CONTRIBUTION_SQL[c]} THEN 1 ELSE 0 END) AS ${c}`).join(', ')}
   FROM surveys WHERE closed_at >= ? AND closed_at < ?
   GROUP BY 1, 2, 3, 4, 5, 6
   HAVING SUM(CASE WHEN status IN ('sent', 'suppressed', 'failed', 'cancelled') THEN 1 ELSE 0 END) > 0
   ${addingOnConflict(DAY_NEXT, ['day', ...KEY_COLUMNS], COUNTERS, false)}`;

/** What a step adds from the day counters it wrote: months, rollup, spans. */
const FROM_DAYS = addDaysSql(COUNTERS, NEXT);
const FROM_DAYS_SQL = [FROM_DAYS.months, ...FROM_DAYS.periods];

const instant = async (trx: Knex.Transaction, sql: string, params: unknown[]) => {
  const [row] = await query<{ at: unknown }>(trx, sql, params);
  return row?.at === null || row?.at === undefined ? null : toDate(row.at);
};

/**
 * One step of the scan: counts the surveys of the next whole local days into the `_next` tables and
 * moves the cursor past them; when none is left, swaps. Answers the surveys it counted, or null when
 * this process no longer owns the rebuild.
 */
async function step(db: Db, batch: number): Promise<{ surveys: number; cursor: Date; swapped: boolean } | null> {
  return db.transaction(async (trx) => {
    const rebuild = await lockedRebuild(trx);
    if (!rebuild || rebuild.owner !== OWNER) return null;
    const { tz } = rebuild;
    const first = await (rebuild.cursor
      ? instant(trx, 'SELECT MIN(closed_at) AS at FROM surveys WHERE closed_at >= ?', [rebuild.cursor])
      : instant(trx, 'SELECT MIN(closed_at) AS at FROM surveys', []));
    if (!first) return { surveys: 0, cursor: await swap(trx, rebuild), swapped: true };
    const firstDay = localDay(first, tz);
    const probe = await instant(trx, 'SELECT closed_at AS at FROM surveys WHERE closed_at >= ? ORDER BY closed_at LIMIT 1 OFFSET ?', [first, batch - 1]);
    const lastDay = localDay(probe ?? (await instant(trx, 'SELECT MAX(closed_at) AS at FROM surveys', []))!, tz);
    const days = [firstDay];
    while (days.length < MAX_DAYS && days[days.length - 1] < lastDay) days.push(addDaysTo(days[days.length - 1], 1));
    const ends = days.map((d) => startOfDay(addDaysTo(d, 1), tz));
    const [start, end] = [startOfDay(firstDay, tz), ends[ends.length - 1]];
    const dayOf = [...days.slice(0, -1).flatMap((d, i) => [ends[i], d]), days[days.length - 1]];
    await query(trx, daysSql(days.length), [...dayOf, start, end]);
    const [from, to] = [firstDay, days[days.length - 1]];
    await together(trx, FROM_DAYS_SQL.map((sql) => () => query(trx, sql, [from, to])));
    const [{ n }] = await query<{ n: number | string }>(trx, 'SELECT COUNT(*) AS n FROM surveys WHERE closed_at >= ? AND closed_at < ?', [start, end]);
    const surveys = Number(n);
    const cursor = end;
    await saveRebuild(trx, { ...rebuild, cursor, beat: Date.now() });
    return { surveys, cursor, swapped: false };
  });
}

/** Puts the `_next` tables in place in the caller's transaction, which has counted every survey. */
async function swap(trx: Knex.Transaction, rebuild: Rebuild): Promise<Date> {
  await swapTables(trx);
  await trx('report_meta').insert({ key: LIVE_TZ_KEY, value: rebuild.tz }).onConflict('key').merge();
  await trx('report_meta').where({ key: REBUILD_KEY }).delete();
  return rebuild.cursor ?? new Date(0);
}

/**
 * Rebuilds the counters for `tz` from the surveys table while writes go on, to the swap: or
 * 'busy' when another live runner holds a rebuild, or 'stopped' when `signal` aborted it (it
 * resumes from its cursor when run again).
 */
export async function rebuildOnline(db: Db, tz: string, options: RebuildOptions = {}): Promise<RebuildResult | 'busy' | 'stopped'> {
  const { mine } = await claim(db, tz, Date.now());
  if (!mine) return 'busy';
  let surveys = 0;
  for (let steps = 1; ; steps++) {
    if (options.signal?.aborted) return 'stopped';
    const done = await step(db, options.batch ?? DEFAULT_BATCH);
    if (!done) return 'busy'; // taken over by another runner after this one went silent
    surveys += done.surveys;
    if (!done.swapped) await options.onStep?.({ surveys, cursor: done.cursor });
    else {
      await db.transaction((trx) => dropTables(trx, OLD));
      const [{ n }] = await db('agent_day_stats').count({ n: '*' });
      return { surveys, rows: Number(n), steps };
    }
  }
}

/** Rebuilds the counters for `tz` to the end (tests, the benchmark); fails when another runner holds a rebuild. */
export async function rebuildStats(db: Db, tz: string, options: RebuildOptions = {}): Promise<{ surveys: number; rows: number }> {
  const result = await rebuildOnline(db, tz, options);
  if (typeof result === 'string') throw new Error(`the counter rebuild did not finish: ${result}`);
  return { surveys: result.surveys, rows: result.rows };
}

/**
 * What start-up finds: 'ready' when the counters are kept in `tz` and no rebuild is pending;
 * otherwise 'rebuild' (run it with rebuildOnline). A database without surveys gets `tz` at once.
 */
export async function statsReadiness(db: Db, tz: string): Promise<{ status: 'ready' | 'rebuild'; from: string | null }> {
  return db.transaction(async (trx) => {
    const state = await readState(trx);
    if (state.tz === tz && !state.rebuild) return { status: 'ready', from: state.tz };
    if (!state.rebuild && !(await trx('surveys').first('id'))) {
      await trx('report_meta').insert({ key: LIVE_TZ_KEY, value: tz }).onConflict('key').merge();
      return { status: 'ready', from: state.tz };
    }
    return { status: 'rebuild', from: state.tz };
  });
}

/** Brings the counters to `tz` before returning (tests): null when they already were. */
export async function ensureStats(db: Db, tz: string): Promise<{ from: string | null; surveys: number; rows: number } | null> {
  const { status, from } = await statsReadiness(db, tz);
  return status === 'ready' ? null : { from, ...(await rebuildStats(db, tz)) };
}

type RebuildLogger = { info(o: object, msg: string): void; warn(o: object, msg: string): void };
/** How long the service waits before trying again after a failed step, or while another instance rebuilds. */
const RETRY_MS = 5_000;

/**
 * The service's rebuild after a REPORT_TZ change (or one left unfinished): runs beside the
 * service from its start, logs its progress and end, and after a failure (the database away)
 * resumes from its cursor. While another instance holds the rebuild, it waits for that one to end
 * or go silent. `stop` ends it between two steps.
 */
export function keepRebuilding(db: Db, tz: string, logger: RebuildLogger, options: Pick<RebuildOptions, 'batch'> = {}): { stop(): Promise<void>; done: Promise<void> } {
  const stopping = new AbortController();
  const pause = () => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, RETRY_MS);
    stopping.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
  const started = Date.now();
  let logged = started;
  const onStep = ({ surveys, cursor }: { surveys: number; cursor: Date }) => {
    if (Date.now() - logged < 10_000) return;
    logged = Date.now();
    logger.info({ tz, surveys, through: cursor.toISOString() }, 'rebuilding the report counters');
  };
  const done = (async () => {
    logger.info({ tz }, 'rebuilding the report counters beside the live ones; reports answer 503 until they are kept in REPORT_TZ');
    while (!stopping.signal.aborted) {
      try {
        const result = await rebuildOnline(db, tz, { ...options, signal: stopping.signal, onStep });
        if (typeof result === 'object') {
          logger.info({ tz, surveys: result.surveys, rows: result.rows, ms: Date.now() - started }, 'report counters rebuilt');
          return;
        }
        if (result === 'stopped' || (await statsReadiness(db, tz)).status === 'ready') return;
      } catch (err) {
        logger.warn({ tz, error: (err as Error).message }, 'a step of the counter rebuild failed; it resumes from where it was');
      }
      await pause();
    }
  })();
  return { done, stop: () => (stopping.abort(), done) };
}
