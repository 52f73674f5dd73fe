import { isPostgres, type Db } from '../../../src/shared/db';
import { rebuildOnline, rebuildStats, statsReadiness } from '../../../src/surveys/counters/rebuild';
import { NEXT, REBUILD_KEY } from '../../../src/surveys/counters/state';
import type { TestApp } from '../../helpers/boot';
import type { SeededSurvey } from '../../reports/seed';
import { bootFor, byKnownKey, counters, expectedCounters, snapshot, trafficOf } from './helpers';

const TABLES = ['agent_day_stats', 'agent_month_stats', 'agent_span_stats', 'agent_rollup'] as const;

/** Columns (name, type, nullability, default) and key of a table, as the database describes them. */
async function shapeOf(db: Db, table: string) {
  if (isPostgres(db)) {
    const columns = await db('information_schema.columns')
      .where({ table_name: table })
      .whereRaw('table_schema = current_schema()')
      .orderBy('ordinal_position')
      .select('column_name', 'data_type', 'character_maximum_length', 'is_nullable', 'column_default');
    const key = await db.raw(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
      [table],
    );
    const indexes = await db.raw('SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = ? AND schemaname = current_schema()', [table]);
    return { columns, key: key.rows.map((r: { attname: string }) => r.attname), indexes: indexes.rows[0].n };
  }
  const columns = await db.raw(`PRAGMA table_info(${table})`);
  const indexes = await db.raw(`PRAGMA index_list(${table})`);
  return { columns, indexes: indexes.map((i: { unique: number; origin: string }) => [i.unique, i.origin]).sort() };
}

const tablesLike = async (db: Db, suffix: string) => {
  const found: string[] = [];
  for (const t of TABLES) if (await db.schema.hasTable(`${t}${suffix}`)) found.push(`${t}${suffix}`);
  return found;
};

/** The `_next` tables by known key, as far as a rebuild into `tz` has counted. */
const nextDays = async (db: Db) => byKnownKey(await counters(db, `agent_day_stats${NEXT}` as 'agent_day_stats'), 'day');

describe('counters rebuilt beside the live ones while surveys keep changing (counters/rebuild.ts)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('when REPORT_TZ changes and writes land between every two steps, then each step leaves the new tables exact behind the cursor, the live ones exact in the old zone, and the swap leaves both exact in the new zone', async () => {
    const booted = await bootFor('UTC');
    t = booted.t;
    const traffic = trafficOf(t, booted.clock, 31);
    for (let i = 0; i < 150; i++) await traffic.step();
    const all = (): SeededSurvey[] => [...traffic.seeder.surveys.values()];
    const shapes = await Promise.all(TABLES.map((table) => shapeOf(t!.db, table)));
    const agentsBefore = (await snapshot(t.db)).agents;
    const reportOf = () => t!.services.reports.agents({ from: '2025-01-01', to: '2026-12-31' }, { key: 'csat_ci_low', dir: 'desc' });
    expect((await reportOf()).agents.length).toBeGreaterThan(0);

    let steps = 0;
    const result = await rebuildOnline(t.db, 'Europe/Berlin', {
      batch: 3,
      onStep: async ({ cursor }) => {
        steps++;
        expect(await nextDays(t!.db)).toEqual(expectedCounters(all().filter((s) => s.closedAt < cursor), 'Europe/Berlin', 'day'));
        expect(byKnownKey(await counters(t!.db, 'agent_day_stats'), 'day')).toEqual(expectedCounters(all(), 'UTC', 'day'));
        // Reports in UTC still read UTC counters until the swap.
        expect((await reportOf()).agents.length).toBeGreaterThan(0);
        for (let i = 0; i < 4; i++) await traffic.step();
      },
    });

    expect(result).toEqual({ surveys: expect.any(Number), rows: expect.any(Number), steps: expect.any(Number) });
    expect(steps).toBeGreaterThan(5); // the writes really landed between steps
    const rebuilt = await snapshot(t.db);
    expect(byKnownKey(rebuilt.days, 'day')).toEqual(expectedCounters(all(), 'Europe/Berlin', 'day'));
    expect(byKnownKey(rebuilt.months, 'month')).toEqual(expectedCounters(all(), 'Europe/Berlin', 'month'));
    expect(rebuilt.agents.length).toBeGreaterThanOrEqual(agentsBefore.length);
    expect(await t.db('report_meta').where({ key: 'stats_tz' }).first('value')).toEqual({ value: 'Europe/Berlin' });
    expect(await t.db('report_meta').where({ key: REBUILD_KEY }).first()).toBeUndefined();
    expect([...(await tablesLike(t.db, NEXT)), ...(await tablesLike(t.db, '_old'))]).toEqual([]);
    expect(await Promise.all(TABLES.map((table) => shapeOf(t!.db, table)))).toEqual(shapes);

    // This instance still runs with REPORT_TZ=UTC: its reports refuse counters kept in Berlin rather than mix them.
    await expect(reportOf()).rejects.toMatchObject({ status: 503, code: 'counters_rebuilding' });
    // Writes after the swap count in Berlin, and a rebuild from scratch finds nothing to change.
    for (let i = 0; i < 30; i++) await traffic.step();
    const kept = await snapshot(t.db);
    expect(byKnownKey(kept.days, 'day')).toEqual(expectedCounters(all(), 'Europe/Berlin', 'day'));
    await rebuildStats(t.db, 'Europe/Berlin', { batch: 50 });
    expect(await snapshot(t.db)).toEqual(kept);
  });

  it('when the same zone is rebuilt as a repair, then reports keep answering between its steps and wrong counters come out right', async () => {
    const booted = await bootFor('America/New_York');
    t = booted.t;
    const traffic = trafficOf(t, booted.clock, 32);
    for (let i = 0; i < 120; i++) await traffic.step();
    const all = (): SeededSurvey[] => [...traffic.seeder.surveys.values()];
    await t.db('agent_day_stats').update({ sent: t.db.raw('sent + 3') }); // drifted, say by a hand-made fix
    let reports = 0;
    await rebuildStats(t.db, 'America/New_York', {
      batch: 4,
      onStep: async () => {
        await t!.services.reports.agents({ from: '2025-01-01', to: '2026-12-31' }, { key: 'csat_ci_low', dir: 'desc' });
        reports++;
        await traffic.step();
      },
    });
    expect(reports).toBeGreaterThan(3);
    const kept = await snapshot(t.db);
    expect(byKnownKey(kept.days, 'day')).toEqual(expectedCounters(all(), 'America/New_York', 'day'));
    expect(byKnownKey(kept.months, 'month')).toEqual(expectedCounters(all(), 'America/New_York', 'month'));
    expect(await statsReadiness(t.db, 'America/New_York')).toEqual({ status: 'ready', from: 'America/New_York' });
  });

  it('when a rebuild stops midway, then it resumes from its cursor; one a live runner elsewhere holds is left alone, a silent one is taken over, and one into another zone starts again', async () => {
    const booted = await bootFor('UTC');
    t = booted.t;
    const traffic = trafficOf(t, booted.clock, 33);
    for (let i = 0; i < 120; i++) await traffic.step();
    const all = (): SeededSurvey[] => [...traffic.seeder.surveys.values()];
    const stop = new AbortController();
    let steps = 0;
    const stopped = await rebuildOnline(t.db, 'Asia/Tokyo', { batch: 10, signal: stop.signal, onStep: () => void (++steps === 3 && stop.abort()) });
    expect(stopped).toBe('stopped');
    expect(await statsReadiness(t.db, 'Asia/Tokyo')).toEqual({ status: 'rebuild', from: 'UTC' });
    for (let i = 0; i < 20; i++) await traffic.step(); // changes behind and ahead of the cursor while nobody scans

    const row = await t.db('report_meta').where({ key: REBUILD_KEY }).first('value');
    const held = (beat: number) => t!.db('report_meta').where({ key: REBUILD_KEY }).update({ value: JSON.stringify({ ...JSON.parse(row.value), owner: 'another-instance', beat }) });
    await held(Date.now());
    expect(await rebuildOnline(t.db, 'Asia/Tokyo', { batch: 10 })).toBe('busy');
    await held(Date.now() - 5 * 60_000);
    const resumed = await rebuildOnline(t.db, 'Asia/Tokyo', { batch: 10, onStep: () => traffic.step() });
    expect(resumed).toMatchObject({ steps: expect.any(Number) });
    expect(byKnownKey((await snapshot(t.db)).days, 'day')).toEqual(expectedCounters(all(), 'Asia/Tokyo', 'day'));

    // A silent rebuild into another zone is dropped and begun again for the zone asked for.
    const left = await rebuildOnline(t.db, 'Europe/Berlin', { batch: 10, signal: AbortSignal.abort() });
    expect(left).toBe('stopped');
    const stale = JSON.parse((await t.db('report_meta').where({ key: REBUILD_KEY }).first('value')).value);
    await t.db('report_meta').where({ key: REBUILD_KEY }).update({ value: JSON.stringify({ ...stale, owner: 'gone', beat: 0 }) });
    await rebuildStats(t.db, 'UTC', { batch: 25 });
    expect(byKnownKey((await snapshot(t.db)).days, 'day')).toEqual(expectedCounters(all(), 'UTC', 'day'));
    expect(await statsReadiness(t.db, 'UTC')).toEqual({ status: 'ready', from: 'UTC' });
  });
});
