import * as spanCounters from '../../../migrations/20261201020000_span_counters';
import type { TestApp } from '../../helpers/boot';
import { bootFor, counters, randomTraffic } from './helpers';

describe('migration 20261201020000_span_counters on a database with history', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('when the span counters are derived from the day counters, then they equal what the ledger keeps with every write', async () => {
    const booted = await bootFor('Pacific/Chatham');
    t = booted.t;
    await randomTraffic(t, booted.clock, 41, 250);
    const kept = await counters(t.db, 'agent_span_stats');
    expect(kept.length).toBeGreaterThan(20);
    await spanCounters.down(t.db);
    await spanCounters.up(t.db);
    expect(await counters(t.db, 'agent_span_stats')).toEqual(kept);
  });
});
