import type { Knex } from 'knex';
import { isPostgres } from '../../shared/db';
import { AppError } from '../../shared/errors';
import { query } from '../../shared/statements';
import { ROLLUP_TABLE, SPAN_TABLE } from './rollup';

/**
 * Which time zone the live counters are kept in, and the rebuild under way, if any. Both live in
 * report_meta: `stats_tz` (the zone of agent_day_stats, agent_month_stats and agent_rollup) and
 * `stats_rebuild` (JSON: the zone being built into the `_next` tables and how far its scan got).
 *
 * The ledger reads them in every write transaction that moves a counter (a new scheduled survey
 * moves none): live deltas go in `stats_tz`, and a change of a survey closed before the rebuild's
 * cursor also goes into the `_next` tables, in the rebuild's zone (rebuild.ts scans the surveys
 * after it).
 */
export const LIVE_TZ_KEY = 'stats_tz';
export const REBUILD_KEY = 'stats_rebuild';
/** The suffix of the tables a rebuild fills beside the live ones. */
export const NEXT = '_next';
/** The counter tables a rebuild replaces (the agents table does not depend on the zone: the ledger keeps it). */
export const COUNTER_TABLES = ['agent_day_stats', 'agent_month_stats', SPAN_TABLE, ROLLUP_TABLE] as const;

export type Rebuild = {
  /** The zone the `_next` tables are kept in. */
  tz: string;
  /** Every survey closed before this instant is counted in the `_next` tables; null: the scan has not begun. */
  cursor: Date | null;
  /** Who runs the scan, and when it last moved (a runner silent for long is taken over). */
  owner: string;
  beat: number;
  /** Names the `_next` tables' indexes, which keep their names when the tables are renamed. */
  generation: number;
};

export type CounterState = { tz: string | null; rebuild: Rebuild | null };

const STATE_SQL = `SELECT "key", "value" FROM report_meta WHERE "key" IN ('${LIVE_TZ_KEY}', '${REBUILD_KEY}')`;
const LOCK_SQL = `SELECT "value" FROM report_meta WHERE "key" = '${REBUILD_KEY}' FOR SHARE`;

export const parseRebuild = (value: string | undefined | null): Rebuild | null => {
  if (!value) return null;
  const r = JSON.parse(value) as Omit<Rebuild, 'cursor'> & { cursor: string | null };
  return { ...r, cursor: r.cursor === null ? null : new Date(r.cursor) };
};

export const rebuildValue = (r: Rebuild) => JSON.stringify({ ...r, cursor: r.cursor?.toISOString() ?? null });

async function readPlain(trx: Knex.Transaction): Promise<CounterState & { raw: string | null }> {
  const rows = await query<{ key: string; value: string }>(trx, STATE_SQL, []);
  const raw = rows.find((r) => r.key === REBUILD_KEY)?.value ?? null;
  return { tz: rows.find((r) => r.key === LIVE_TZ_KEY)?.value ?? null, rebuild: parseRebuild(raw), raw };
}

/**
 * The counter state as a write transaction must use it. On SQLite the transaction holds the one
 * write lock, so what it reads holds until it commits. On PostgreSQL, while a rebuild runs, the
 * rebuild row is read FOR SHARE: a scan step or the swap (which lock it FOR UPDATE) then waits for
 * this transaction, and this one for them, so a change is never counted both by the scan and here,
 * nor by neither. (A rebuild begins under a SHARE ROW EXCLUSIVE lock on `surveys`, which waits for every
 * transaction that wrote a survey: one that found no rebuild has finished before one begins.)
 */
export async function readForWrite(trx: Knex.Transaction): Promise<CounterState> {
  const plain = await readPlain(trx);
  if (!plain.rebuild || !isPostgres(trx)) return plain;
  const [locked] = await query<{ value: string }>(trx, LOCK_SQL, []);
  if ((locked?.value ?? null) === plain.raw) return plain;
  return readPlain(trx); // a scan step or the swap committed while this waited: read what it left
}

/** The counter state as of the caller's snapshot (reports, the rebuild's own checks). */
export async function readState(trx: Knex.Transaction): Promise<CounterState> {
  const { tz, rebuild } = await readPlain(trx);
  return { tz, rebuild };
}

/**
 * Opens the counters for reading in `tz`, first in a report's read transaction: answers 503 while
 * they are kept in another zone (a REPORT_TZ change's rebuild is under way), never a mix of both.
 * On PostgreSQL the tables are locked before the transaction's snapshot is taken (LOCK is not a
 * query), so a swap (rebuild.ts) either waits for this report or is wholly seen by it.
 */
export async function openCounters(trx: Knex.Transaction, tz: string): Promise<void> {
  if (isPostgres(trx)) await trx.raw(`LOCK TABLE ${COUNTER_TABLES.join(', ')} IN ACCESS SHARE MODE`);
  const { tz: kept } = await readState(trx);
  if (kept !== null && kept !== tz) {
    throw new AppError(503, 'counters_rebuilding', `the report counters are being rebuilt for REPORT_TZ=${tz} (they are kept in ${kept}); try again shortly`);
  }
}
