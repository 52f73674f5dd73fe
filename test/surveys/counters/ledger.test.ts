import { markFailed, markSent } from '../../../src/delivery/repository';
import { ensureStats, rebuildStats } from '../../../src/surveys/counters/rebuild';
import type { Ledger } from '../../../src/surveys/counters/ledger';
import { createDb, type Db } from '../../../src/shared/db';
import { migrateLatest } from '../../../src/schema';
import type { manualClock, TestApp } from '../../helpers/boot';
import { refuseWrites as refuseTableWrites } from '../../helpers/database';
import type { SeededSurvey } from '../../reports/seed';
import { byKnownKey, bootFor, dayIn, expectedCounters, randomTraffic, snapshot } from './helpers';

describe('agent_day_stats, agent_month_stats and agent_rollup, kept with every survey write', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it.each([
    [1, 'UTC'],
    [2, 'Europe/Berlin'],
    [3, 'America/New_York'],
    [4, 'Australia/Lord_Howe'],
    [5, 'Europe/Berlin'],
  ])('when seed %i drives random traffic in %s, then the counters equal rebuildStats run afterwards and the seed\'s own count', async (seed, tz) => {
    const booted = await bootFor(tz);
    t = booted.t;
    const seeder = await randomTraffic(t, booted.clock, seed, 350);
    const statuses = new Set([...seeder.surveys.values()].map((s) => s.status));
    expect([...statuses].sort()).toEqual(['failed', 'scheduled', 'sent', 'suppressed']);

    const kept = await snapshot(t.db);
    expect(byKnownKey(kept.days, 'day')).toEqual(expectedCounters(seeder.surveys.values(), tz, 'day'));
    expect(byKnownKey(kept.months, 'month')).toEqual(expectedCounters(seeder.surveys.values(), tz, 'month'));

    await rebuildStats(t.db, tz);
    expect(await snapshot(t.db)).toEqual(kept);
  });

  describe('when a write fails inside its transaction', () => {
    let clock: ReturnType<typeof manualClock>;
    let seeder: Awaited<ReturnType<typeof randomTraffic>>;
    let seeded: SeededSurvey[];

    beforeEach(async () => {
      const booted = await bootFor('Europe/Berlin');
      t = booted.t;
      clock = booted.clock;
      seeder = await randomTraffic(t, clock, 11, 80);
      seeded = [...seeder.surveys.values()];
    });

    /** Makes the database refuse writes to `table`, as a full disk would, in the middle of the transaction. */
    const refuseWrites = (table: string) => refuseTableWrites(t!.db, table, 'disk full');
    const outboxRow = async (s: SeededSurvey) => {
      const row = await t!.db('outbox').where({ survey_id: s.id }).first('id', 'attempts');
      // Leased as the worker's claim would (markSent/markFailed only act on a row their claim owns).
      const leaseUntil = new Date(clock.now().getTime() + 300_000);
      await t!.db('outbox').where({ id: row.id }).update({ locked_until: leaseUntil });
      return { id: row.id as number, surveyId: s.id, attempts: row.attempts as number, leaseUntil };
    };
    const state = async () => ({
      counters: await snapshot(t!.db),
      surveys: await t!.db('surveys').orderBy('id').select('*'),
      outbox: await t!.db('outbox').orderBy('id').select('*'),
      events: await t!.db('rating_events').orderBy('id').select('*'),
    });

    it('then a rating whose month counter write fails leaves the day counters, survey and events as they were', async () => {
      const s = seeded.find((x) => x.status === 'sent' && x.score !== null)!;
      const before = await state();
      await refuseWrites('agent_month_stats'); // the day counters are written first, in the same transaction
      const token = await t!.services.surveys.issueToken(s.id);
      await expect(t!.services.ratings.recordRating(token, { score: s.score === 5 ? 1 : 5, comment: 'changed' })).rejects.toThrow('disk full');
      expect(await state()).toEqual(before);
    });

    it('then a send whose rollup write fails (the last counter write) leaves the day and month counters, survey and outbox as they were', async () => {
      const s = seeded.find((x) => x.status === 'scheduled')!;
      const claimed = await outboxRow(s);
      const before = await state();
      await refuseWrites('agent_rollup');
      await expect(markSent(t!.db, t!.services.ledger, claimed, clock.now())).rejects.toThrow('disk full');
      expect(await state()).toEqual(before);
    });

    it('then markSent and markFailed whose transaction throws after the counters leave everything as it was', async () => {
      const real = t!.services.ledger;
      const failingLedger: Ledger = {
        ...real,
        async recordMany(trx, changes) {
          await real.recordMany(trx, changes);
          throw new Error('disk full after the counters were written');
        },
      };
      const s = seeded.find((x) => x.status === 'scheduled')!;
      const claimed = await outboxRow(s);
      const before = await state();
      await expect(markSent(t!.db, failingLedger, claimed, clock.now())).rejects.toThrow('disk full');
      await expect(markFailed(t!.db, failingLedger, claimed, '550 no', clock.now())).rejects.toThrow('disk full');
      expect(await state()).toEqual(before);
    });

    it('then scheduling a survey whose outbox row cannot be written stores neither the survey, its counts nor its agent', async () => {
      const before = await state();
      await refuseWrites('outbox');
      const ticket = { source: 'generic', ticketId: 'T-fails', closedAt: new Date('2026-03-29T00:30:00Z'), customer: { email: 'x@example.com' }, agent: { id: 'a-new', name: 'New Agent' }, team: 'tech', tags: [] };
      await expect(t!.services.surveys.scheduleSurvey(ticket)).rejects.toThrow('disk full');
      expect(await state()).toEqual(before);
    });

    it('then the same writes done again without the fault count once and still equal a recompute', async () => {
      const s = seeded.find((x) => x.status === 'scheduled')!;
      const repair = await refuseWrites('agent_month_stats');
      await expect(markSent(t!.db, t!.services.ledger, await outboxRow(s), clock.now())).rejects.toThrow('disk full');
      await expect(seeder.rate(seeded.find((x) => x.status === 'sent' && x.score === null)!, { score: 4 })).rejects.toThrow('disk full');
      await repair();

      await seeder.send(s);
      await seeder.rate(s, { score: 4, comment: 'fine' });
      const kept = await snapshot(t!.db);
      expect(byKnownKey(kept.days, 'day')).toEqual(expectedCounters(seeded, 'Europe/Berlin', 'day'));
      expect(byKnownKey(kept.months, 'month')).toEqual(expectedCounters(seeded, 'Europe/Berlin', 'month'));
      await rebuildStats(t!.db, 'Europe/Berlin');
      expect(await snapshot(t!.db)).toEqual(kept);
    });
  });

  describe('when REPORT_TZ changes between two boots on the same database file', () => {
    let other: Db | undefined;
    afterEach(async () => {
      await other?.destroy();
      other = undefined;
    });

    it('then ensureStats rebuilds the counters for the new zone once, and again when it changes back', async () => {
      const booted = await bootFor('UTC');
      t = booted.t;
      const seeder = await randomTraffic(t, booted.clock, 21, 200);
      const surveys = [...seeder.surveys.values()];
      // Some closings fall on a different calendar day in Berlin than in UTC, or the test proves nothing.
      expect(surveys.filter((s) => s.status !== 'scheduled' && dayIn(s.closedAt, 'UTC') !== dayIn(s.closedAt, 'Europe/Berlin')).length).toBeGreaterThan(2);
      expect(await ensureStats(t.db, 'UTC')).toBeNull(); // the first boot built them for UTC
      const utc = await snapshot(t.db);

      // The second boot: same file, REPORT_TZ=Europe/Berlin.
      other = createDb(t.config.database);
      expect(await migrateLatest(other)).toEqual([]);
      expect(await ensureStats(other, 'Europe/Berlin')).toEqual({ from: 'UTC', surveys: surveys.length, rows: expect.any(Number) });
      const berlin = await snapshot(other);
      expect(byKnownKey(berlin.days, 'day')).toEqual(expectedCounters(surveys, 'Europe/Berlin', 'day'));
      expect(byKnownKey(berlin.months, 'month')).toEqual(expectedCounters(surveys, 'Europe/Berlin', 'month'));
      expect(berlin.agents).toEqual(utc.agents);
      expect(await other('report_meta').where({ key: 'stats_tz' }).first('value')).toEqual({ value: 'Europe/Berlin' });

      // A third boot in the same zone rebuilds nothing; going back to UTC restores the first counters.
      expect(await ensureStats(other, 'Europe/Berlin')).toBeNull();
      expect(await ensureStats(other, 'UTC')).toEqual({ from: 'Europe/Berlin', surveys: surveys.length, rows: expect.any(Number) });
      expect(await snapshot(other)).toEqual(utc);
    });
  });
});
