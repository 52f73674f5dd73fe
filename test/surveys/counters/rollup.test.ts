import { addDaysTo, daysBetween } from '../../../src/shared/period';
import { coverPeriod, periodsOf } from '../../../src/surveys/counters/rollup';
import { makeRng } from '../../reports/seed';

/** The days a rollup period holds. */
function daysOf(period: string): string[] {
  let first: string;
  let last: string;
  if (/^\d{4}$/.test(period)) [first, last] = [`${period}-01-01`, `${period}-12-31`];
  else if (/^\d{4}-\d{2}$/.test(period)) [first, last] = [`${period}-01`, addDaysTo(`${addDaysTo(`${period}-28`, 7).slice(0, 7)}-01`, -1)];
  else if (/^\d{4}-\d{2}\/[1-5]$/.test(period)) {
    const block = Number(period.slice(8));
    first = `${period.slice(0, 7)}-${String((block - 1) * 7 + 1).padStart(2, '0')}`;
    last = block === 5 ? addDaysTo(`${addDaysTo(`${period.slice(0, 7)}-28`, 7).slice(0, 7)}-01`, -1) : addDaysTo(first, 6);
  } else [first, last] = [period, period];
  const days: string[] = [];
  for (let d = first; d <= last; d = addDaysTo(d, 1)) days.push(d);
  return days;
}

describe('rollup periods', () => {
  it.each([
    ['2026-11-28', ['2026', '2026-11', '2026-11/4', '2026-11-28']],
    ['2026-11-01', ['2026', '2026-11', '2026-11/1', '2026-11-01']],
    ['2026-11-07', ['2026', '2026-11', '2026-11/1', '2026-11-07']],
    ['2026-11-08', ['2026', '2026-11', '2026-11/2', '2026-11-08']],
    ['2024-02-29', ['2024', '2024-02', '2024-02/5', '2024-02-29']],
    ['2026-12-31', ['2026', '2026-12', '2026-12/5', '2026-12-31']],
  ])('when a survey closed on %s, then it counts in %j', (day, periods) => {
    expect(periodsOf(day)).toEqual(periods);
  });

  it.each([
    ['2023-11-29', '2026-11-28', ['2023-11/5', '2023-12', '2024', '2025', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11/1', '2026-11/2', '2026-11/3', '2026-11/4']],
    ['2026-08-31', '2026-11-28', ['2026-08-31', '2026-09', '2026-10', '2026-11/1', '2026-11/2', '2026-11/3', '2026-11/4']],
    ['2026-03-10', '2026-03-22', ['2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13', '2026-03-14', '2026-03/3', '2026-03-22']],
    ['2026-01-01', '2026-12-31', ['2026']],
    ['2026-02-01', '2026-02-28', ['2026-02']],
    ['2024-02-29', '2024-02-29', ['2024-02/5']],
    ['2026-03-30', '2026-03-30', ['2026-03-30']],
    ['2024-02-22', '2024-02-29', ['2024-02/4', '2024-02/5']],
  ])('when the period is %s..%s, then it is read as %j', (from, to, periods) => {
    expect(coverPeriod(from, to)).toEqual(periods);
  });

  it('when 1,000 random periods over six years are covered, then their periods hold every day once, in order, and never more than 44 periods', () => {
    const rng = makeRng(42);
    let longest = 0;
    for (let i = 0; i < 1000; i++) {
      const from = addDaysTo('2021-01-01', rng.int(0, 6 * 365));
      const to = addDaysTo(from, rng.int(0, i % 3 === 0 ? 40 : 3 * 366));
      const cover = coverPeriod(from, to);
      const days = cover.flatMap(daysOf);
      expect(days).toEqual(Array.from({ length: daysBetween(from, to) }, (_, k) => addDaysTo(from, k)));
      longest = Math.max(longest, cover.length);
    }
    expect(longest).toBeLessThanOrEqual(44);
  });
});
