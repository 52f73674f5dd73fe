import { dayProblem, FIRST_DAY, instantProblem, isSupportedInstant, LAST_DAY } from '../../src/shared/dates';

const OUTSIDE = 'must be between 2000-01-01 and 2199-12-31';

describe('the supported calendar (shared/dates.ts)', () => {
  it('when the range is read, then it is 2000-01-01..2199-12-31', () => {
    expect([FIRST_DAY, LAST_DAY]).toEqual(['2000-01-01', '2199-12-31']);
  });

  describe('dayProblem: a day written YYYY-MM-DD in the calendar', () => {
    it.each(['2000-01-01', '2199-12-31', '2026-03-29', '2026-10-25', '2028-02-29', '2100-03-01'])('when the day is %s, then it is supported', (day) => {
      expect(dayProblem(day)).toBeUndefined();
    });

    it.each(['1999-12-31', '2200-01-01', '0001-01-01', '0000-01-01', '0100-01-01', '1970-01-01', '9999-12-31'])('when the day is %s, then it is outside the calendar', (day) => {
      expect(dayProblem(day)).toBe(OUTSIDE);
    });

    it.each(['', '2026-02-30', '2100-02-29', '2026-1-5', '+275760-09-13', '10000-01-01', '2026-01-01T00:00:00Z', 'today', ' 2026-01-01'])(
      'when the value is %j, then it is no date',
      (value) => {
        expect(dayProblem(value)).toBe('must be a date written YYYY-MM-DD');
      },
    );
  });

  describe('instantProblem: an ISO-8601 date-time with offset whose UTC day is in the calendar', () => {
    it.each(['2000-01-01T00:00:00Z', '2199-12-31T23:59:59.999Z', '2026-03-29T02:30:00+01:00', '2000-01-01T10:00:00+09:30', '2026-11-20T10:00:00.123456789Z'])(
      'when the instant is %s, then it is supported',
      (value) => {
        expect(instantProblem(value)).toBeUndefined();
      },
    );

    it.each(['1999-12-31T23:59:59Z', '2000-01-01T00:30:00+01:00', '2200-01-01T00:00:00Z', '2199-12-31T23:00:00-02:00', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z'])(
      'when the instant is %s, then it is outside the calendar',
      (value) => {
        expect(instantProblem(value)).toBe(OUTSIDE);
      },
    );

    it.each(['2026-11-20', '2026-11-20T10:00:00', '2026-11-20T10:00:00+99:99', '2026-02-30T10:00:00Z', '1795168800', ''])('when the value is %j, then it is no date-time', (value) => {
      expect(instantProblem(value)).toBe('must be an ISO-8601 date-time');
    });

    it('when days are allowed too, then a day counts as its midnight UTC and is checked like one', () => {
      expect(instantProblem('2026-11-20', { dates: true })).toBeUndefined();
      expect(instantProblem('2200-01-01', { dates: true })).toBe(OUTSIDE);
      expect(instantProblem('2026-02-30', { dates: true })).toBe('must be an ISO-8601 date or date-time');
      expect(instantProblem('yesterday', { dates: true })).toBe('must be an ISO-8601 date or date-time');
    });
  });

  it('when epoch milliseconds are checked (an API cursor), then only finite ones in the calendar pass', () => {
    expect(isSupportedInstant(Date.parse('2026-11-20T10:00:00Z'))).toBe(true);
    for (const ms of [0, -1, 1e20, Number.NaN, Infinity, Date.parse('2200-01-01T00:00:00Z'), 8.64e15 + 1]) expect(isSupportedInstant(ms)).toBe(false);
  });
});
