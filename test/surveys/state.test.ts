import fs from 'node:fs';
import path from 'node:path';
import { rebuildStats } from '../../src/surveys/counters/rebuild';
import { applyRetention } from '../../src/privacy/retention';
import type { Db } from '../../src/shared/db';
import { ERASED_EMAIL } from '../../src/surveys/state';
import { bootApp, manualClock, type TestApp } from '../helpers/boot';
import { COMMENTS, createSeeder, makeRng, SCORE_WEIGHTS, type SeededSurvey } from '../reports/seed';

const COUNTER_TABLES = ['agent_day_stats', 'agent_month_stats', 'agent_rollup'] as const;

/** The counter tables and agents as stored, rows with only zero counters left out (a rebuild writes none of them). */
async function counters(db: Db) {
  const out: Record<string, unknown[]> = {};
  for (const table of COUNTER_TABLES) {
    const rows: Record<string, unknown>[] = await db(table).select('*');
    const counts = (r: Record<string, unknown>) => Object.entries(r).filter(([, v]) => typeof v === 'number');
    out[table] = rows
      .filter((r) => counts(r).some(([, v]) => v !== 0))
      .map((r) => JSON.stringify(Object.entries(r).sort()))
      .sort();
  }
  out.agents = await db('agents').orderBy('agent_id').select('agent_id', 'agent_name', 'last_closed_at');
  return out;
}

/**
 * Every kind of survey change, in a random order: scheduling (some suppressed), sends, failures,
 * ratings and their changes and comments, a rating held and counted after the hold, a scanner's
 * sweep, reopens (cancelling unsent surveys), erasure of a customer and a retention pass.
 */
async function everyKindOfChange(t: TestApp, clock: ReturnType<typeof manualClock>, seed: number, steps: number) {
  const rng = makeRng(seed);
  const seeder = createSeeder(t, clock, rng);
  const all = () => [...seeder.surveys.values()];
  const kinds = new Set<string>();
  const tokenOf = (s: SeededSurvey) => t.services.surveys.issueToken(s.id);
  let erased = new Set<string>(); // their links are gone with their identity: nobody can rate them any more
  /** Erasure also cancels emails not yet sent: the seed's record follows what was stored. */
  const noteErased = async () => {
    erased = new Set(await t.db('surveys').where({ customer_email: ERASED_EMAIL }).pluck('id'));
    const stored = new Map<string, string>((await t.db('surveys').select('id', 'status')).map((r) => [r.id, r.status]));
    for (const s of all()) s.status = stored.get(s.id) as SeededSurvey['status'];
  };
  for (let i = 0; i < steps; i++) {
    const roll = rng.next();
    const scheduled = all().filter((s) => s.status === 'scheduled');
    const rateable = all().filter((s) => s.status !== 'suppressed' && s.status !== 'cancelled' && !erased.has(s.id));
    const rated = rateable.filter((s) => s.score !== null);
    let kind: string;
    if (roll < 0.25 || scheduled.length === 0) {
      kind = 'schedule';
      await seeder.schedule();
    } else if (roll < 0.4) {
      kind = 'send';
      await seeder.send(rng.pick(scheduled));
    } else if (roll < 0.45) {
      kind = 'fail';
      await seeder.fail(rng.pick(scheduled));
    } else if (roll < 0.5) {
      kind = 'reopen';
      const s = rng.pick(scheduled);
      const outcome = await t.services.surveys.cancelSurvey('generic', s.ticketId);
      expect(outcome.status).toBe('cancelled');
      s.status = 'cancelled';
    } else if (roll < 0.62 || rated.length === 0) {
      kind = 'rate';
      await seeder.rate(rng.pick(rateable), { score: rng.pick(SCORE_WEIGHTS) });
    } else if (roll < 0.7) {
      kind = 'change';
      await seeder.rate(rng.pick(rated), { score: rng.int(1, 5) });
    } else if (roll < 0.76) {
      kind = 'comment';
      await seeder.rate(rng.pick(rated), { comment: rng.pick(COMMENTS) });
    } else if (roll < 0.8) {
      kind = 'clear comment';
      await seeder.rate(rng.pick(rated), { comment: '' });
    } else if (roll < 0.85) {
      kind = 'held rating';
      const s = rng.pick(rateable);
      await t.services.ratings.holdRating(await tokenOf(s), rng.int(1, 5), { visibleMs: 4000, interacted: true });
      clock.advance(t.config.ratingHoldSeconds * 1000 + 1000);
      await t.services.ratings.decidePending();
    } else if (roll < 0.9) {
      kind = 'scanner sweep';
      await seeder.scan(rng.pick(rateable));
    } else if (roll < 0.96) {
      kind = 'erase customer';
      const s = rng.pick(all());
      const survey = await t.services.surveys.getSurvey(s.id);
      await t.services.privacy.eraseCustomer(survey!.customerEmail);
      await noteErased();
    } else {
      kind = 'retention';
      await applyRetention({ db: t.db, ledger: t.services.ledger, mailDir: t.config.mailDir }, rng.int(30, 400), clock.now());
      await noteErased();
    }
    kinds.add(kind);
  }
  return kinds;
}

describe('surveys/state.ts, the one owner of survey state', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it.each([
    [11, 'Europe/Berlin'],
    [12, 'America/New_York'],
  ])('when seed %i mixes every kind of change in %s, then the counters equal a recompute afterwards', async (seed, tz) => {
    const clock = manualClock(new Date('2026-06-01T00:00:00Z'));
    t = await bootApp({ REPORT_TZ: tz, TOKEN_TTL_DAYS: '365', RATING_CHANGE_DAYS: '365', RATING_HOLD_SECONDS: '5' }, clock);
    const kinds = await everyKindOfChange(t, clock, seed, 300);
    // The positive control: the mix did contain every kind of change.
    expect([...kinds].sort()).toEqual(
      ['change', 'clear comment', 'comment', 'erase customer', 'fail', 'held rating', 'rate', 'reopen', 'retention', 'scanner sweep', 'schedule', 'send'].sort(),
    );
    const statuses = await t.db('surveys').distinct('status').pluck('status');
    expect(statuses.sort()).toEqual(['cancelled', 'failed', 'scheduled', 'sent', 'suppressed']);

    const kept = await counters(t.db);
    await rebuildStats(t.db, tz);
    expect(await counters(t.db)).toEqual(kept);
  });
});

/** Writes to the survey or counter tables in `source`, outside their owner (a crude reader of our own code style). */
export function surveyWritesIn(source: string): string[] {
  const tables = '(surveys|agent_day_stats|agent_month_stats|agent_rollup|agents)';
  const found: string[] = [];
  const sql = new RegExp(`\\b(UPDATE|INSERT INTO|DELETE FROM)\\s+"?${tables}"?\\b`, 'gi');
  const knex = new RegExp(`\\(\\s*['"]${tables}['"]\\s*\\)([^;]*?)\\.(update|insert|delete|del|increment|decrement)\\(`, 'g');
  const rows = new RegExp(`insertRows\\(\\s*\\w+\\s*,\\s*['"]${tables}['"]`, 'g');
  const ledger = /\bledger\.(record|recordMany)\(/g;
  for (const re of [sql, knex, rows, ledger]) for (const m of source.matchAll(re)) found.push(m[0].replace(/\s+/g, ' ').slice(0, 80));
  return found;
}

describe('who writes surveys and counters', () => {
  const OWNERS = [path.join('surveys', 'state.ts'), path.join('surveys', 'counters') + path.sep];
  const src = path.join(__dirname, '../../src');
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

  it('when a module writes a survey row or a counter, then the reader finds it (positive control)', () => {
    expect(surveyWritesIn("await trx('surveys').where({ id }).update({ status: 'sent' });")).toHaveLength(1);
    expect(surveyWritesIn("query(trx, 'UPDATE surveys SET score = ? WHERE id = ?', [s, id])")).toHaveLength(1);
    expect(surveyWritesIn("await insertRows(trx, 'agent_day_stats', COLUMNS, rows)")).toHaveLength(1);
    expect(surveyWritesIn('await ledger.recordMany(trx, changes);')).toHaveLength(1);
    expect(surveyWritesIn("await trx('surveys').where({ id }).first('status');")).toEqual([]);
  });

  it('when src/ is read, then only surveys/state.ts and surveys/counters/ write surveys or the counter tables', () => {
    const writers = files(src)
      .filter((f) => !OWNERS.some((o) => path.relative(src, f) === o || path.relative(src, f).startsWith(o)))
      .flatMap((f) => surveyWritesIn(fs.readFileSync(f, 'utf8')).map((w) => `${path.relative(src, f)}: ${w}`));
    expect(writers).toEqual([]);
    // And the owner does write them: the reader is looking at the right code.
    expect(surveyWritesIn(fs.readFileSync(path.join(src, 'surveys/state.ts'), 'utf8')).length).toBeGreaterThan(3);
  });
});
