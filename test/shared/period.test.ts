import { addDaysTo, bucketStart, buckets, daysBetween, isDay, localDay, startOfDay } from '../../src/shared/period';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
/** Length of a local day in hours: 23 or 25 (or 23.5, 24.5) on DST changes. */
const hoursIn = (day: string, tz: string) => (startOfDay(addDaysTo(day, 1), tz).getTime() - startOfDay(day, tz).getTime()) / HOUR;

describe('localDay: the calendar day an instant falls on in a zone', () => {
  it.each([
    // Europe/Berlin: CET (+1) until 2026-03-29 01:00Z, then CEST (+2); back on 2026-10-25 01:00Z.
    ['2026-03-28T22:59:59.999Z', 'Europe/Berlin', '2026-03-28'],
    ['2026-03-28T23:00:00.000Z', 'Europe/Berlin', '2026-03-29'],
    ['2026-03-29T21:59:59.999Z', 'Europe/Berlin', '2026-03-29'],
    ['2026-03-29T22:00:00.000Z', 'Europe/Berlin', '2026-03-30'],
    ['2026-10-24T21:59:59.999Z', 'Europe/Berlin', '2026-10-24'],
    ['2026-10-24T22:00:00.000Z', 'Europe/Berlin', '2026-10-25'],
    ['2026-10-25T22:59:59.999Z', 'Europe/Berlin', '2026-10-25'],
    ['2026-10-25T23:00:00.000Z', 'Europe/Berlin', '2026-10-26'],
    // America/New_York: EST (-5) until 2026-03-08 07:00Z, then EDT (-4); back on 2026-11-01 06:00Z.
    ['2026-03-08T04:59:59.999Z', 'America/New_York', '2026-03-07'],
    ['2026-03-08T05:00:00.000Z', 'America/New_York', '2026-03-08'],
    ['2026-03-09T03:59:59.999Z', 'America/New_York', '2026-03-08'],
    ['2026-03-09T04:00:00.000Z', 'America/New_York', '2026-03-09'],
    ['2026-11-01T03:59:59.999Z', 'America/New_York', '2026-10-31'],
    ['2026-11-02T04:59:59.999Z', 'America/New_York', '2026-11-01'],
    ['2026-11-02T05:00:00.000Z', 'America/New_York', '2026-11-02'],
    // Asia/Kolkata: +05:30 all year.
    ['2026-03-28T18:29:59.999Z', 'Asia/Kolkata', '2026-03-28'],
    ['2026-03-28T18:30:00.000Z', 'Asia/Kolkata', '2026-03-29'],
    // Australia/Lord_Howe: +11 in summer, +10:30 in winter (a half-hour DST change), 2026-04-05 and 2026-10-04.
    ['2026-04-04T12:59:59.999Z', 'Australia/Lord_Howe', '2026-04-04'],
    ['2026-04-04T13:00:00.000Z', 'Australia/Lord_Howe', '2026-04-05'],
    ['2026-04-05T13:29:59.999Z', 'Australia/Lord_Howe', '2026-04-05'],
    ['2026-04-05T13:30:00.000Z', 'Australia/Lord_Howe', '2026-04-06'],
    ['2026-10-03T13:29:59.999Z', 'Australia/Lord_Howe', '2026-10-03'],
    ['2026-10-03T13:30:00.000Z', 'Australia/Lord_Howe', '2026-10-04'],
    ['2026-10-04T13:00:00.000Z', 'Australia/Lord_Howe', '2026-10-05'],
    ['2026-12-31T23:59:59.999Z', 'UTC', '2026-12-31'],
    ['2027-01-01T00:00:00.000Z', 'UTC', '2027-01-01'],
  ])('when the instant is %s in %s, then the day is %s', (instant, tz, day) => {
    expect(localDay(at(instant), tz)).toBe(day);
  });
});

describe('startOfDay: the instant a local day begins, DST-safe', () => {
  it.each([
    ['2026-03-28', 'Europe/Berlin', '2026-03-27T23:00:00.000Z', 24],
    ['2026-03-29', 'Europe/Berlin', '2026-03-28T23:00:00.000Z', 23],
    ['2026-03-30', 'Europe/Berlin', '2026-03-29T22:00:00.000Z', 24],
    ['2026-10-25', 'Europe/Berlin', '2026-10-24T22:00:00.000Z', 25],
    ['2026-10-26', 'Europe/Berlin', '2026-10-25T23:00:00.000Z', 24],
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00.000Z', 23],
    ['2026-03-09', 'America/New_York', '2026-03-09T04:00:00.000Z', 24],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00.000Z', 25],
    ['2026-11-02', 'America/New_York', '2026-11-02T05:00:00.000Z', 24],
    ['2026-03-29', 'Asia/Kolkata', '2026-03-28T18:30:00.000Z', 24],
    ['2026-10-25', 'Asia/Kolkata', '2026-10-24T18:30:00.000Z', 24],
    ['2026-04-05', 'Australia/Lord_Howe', '2026-04-04T13:00:00.000Z', 24.5],
    ['2026-04-06', 'Australia/Lord_Howe', '2026-04-05T13:30:00.000Z', 24],
    ['2026-10-04', 'Australia/Lord_Howe', '2026-10-03T13:30:00.000Z', 23.5],
    ['2026-10-05', 'Australia/Lord_Howe', '2026-10-04T13:00:00.000Z', 24],
    ['2026-01-01', 'UTC', '2026-01-01T00:00:00.000Z', 24],
  ])('when the day is %s in %s, then it begins at %s and lasts %d hours', (day, tz, start, hours) => {
    expect(startOfDay(day, tz).toISOString()).toBe(start);
    expect(hoursIn(day, tz)).toBe(hours);
  });

  it.each(['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'])(
    'when every day of 2026 in %s is checked, then its start is on that day and the millisecond before is on the day before',
    (tz) => {
      for (let day = '2026-01-01'; day <= '2026-12-31'; day = addDaysTo(day, 1)) {
        const start = startOfDay(day, tz);
        expect([day, localDay(start, tz)]).toEqual([day, day]);
        expect([day, localDay(new Date(start.getTime() - 1), tz)]).toEqual([day, addDaysTo(day, -1)]);
      }
    },
  );

  // Where DST begins at midnight the day starts at 01:00; Chile (America/Santiago) moves its
  // clocks from 00:00 to 01:00 on 2026-09-06, so that day begins at 04:00Z.
  it('when the day begins at 01:00 because DST starts at midnight (America/Santiago, 2026-09-06), then its start is the first instant of that day', () => {
    const start = startOfDay('2026-09-06', 'America/Santiago');
    expect(start.toISOString()).toBe('2026-09-06T04:00:00.000Z');
    expect(localDay(start, 'America/Santiago')).toBe('2026-09-06');
  });
});

describe('isDay: a real calendar date written YYYY-MM-DD', () => {
  it.each(['2026-01-01', '2026-12-31', '2028-02-29', '2026-03-29'])('when the value is %s, then it is a day', (value) => {
    expect(isDay(value)).toBe(true);
  });

  it.each(['2026-02-30', '2026-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-1-1', '2026-01-1', '26-01-01', '2026/01/01', '2026-01-01T00:00:00Z', ' 2026-01-01', '2026-01-01 ', '', 'today'])(
    'when the value is %j, then it is rejected',
    (value) => {
      expect(isDay(value)).toBe(false);
    },
  );
});

describe('day arithmetic', () => {
  it.each([
    ['2026-02-28', 1, '2026-03-01'],
    ['2028-02-28', 1, '2028-02-29'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2026-01-01', -1, '2025-12-31'],
    ['2026-03-28', 2, '2026-03-30'],
  ])('when %s moves by %d days, then it is %s', (day, n, expected) => {
    expect(addDaysTo(day, n)).toBe(expected);
  });

  it('when both ends are counted, then a DST month still has its calendar number of days', () => {
    expect(daysBetween('2026-03-01', '2026-03-31')).toBe(31);
    expect(daysBetween('2026-10-25', '2026-10-25')).toBe(1);
    expect(daysBetween('2025-12-30', '2026-01-02')).toBe(4);
  });
});

describe('bucketStart and buckets', () => {
  it.each([
    ['2026-03-02', 'week', '2026-03-02'], // a Monday
    ['2026-03-08', 'week', '2026-03-02'], // a Sunday belongs to the week before
    ['2026-01-01', 'week', '2025-12-29'], // a Thursday: the week starts in the old year
    ['2026-03-29', 'month', '2026-03-01'],
    ['2026-03-29', 'day', '2026-03-29'],
  ])('when the day is %s and the interval %s, then the bucket starts %s', (day, interval, start) => {
    expect(bucketStart(day, interval as 'day' | 'week' | 'month')).toBe(start);
  });

  it('when weeks are asked from a Wednesday to a Friday, then they start on Mondays and the ends are clipped', () => {
    expect(buckets('2026-03-04', '2026-03-20', 'week')).toEqual([
      { start: '2026-03-04', end: '2026-03-08' },
      { start: '2026-03-09', end: '2026-03-15' },
      { start: '2026-03-16', end: '2026-03-20' },
    ]);
  });

  it('when weeks cross the year boundary, then the week of 2025-12-29 holds the first days of 2026', () => {
    expect(buckets('2025-12-24', '2026-01-11', 'week')).toEqual([
      { start: '2025-12-24', end: '2025-12-28' },
      { start: '2025-12-29', end: '2026-01-04' },
      { start: '2026-01-05', end: '2026-01-11' },
    ]);
  });

  it('when months cross the year boundary, then each is a calendar month clipped to the period', () => {
    expect(buckets('2025-11-15', '2026-02-10', 'month')).toEqual([
      { start: '2025-11-15', end: '2025-11-30' },
      { start: '2025-12-01', end: '2025-12-31' },
      { start: '2026-01-01', end: '2026-01-31' },
      { start: '2026-02-01', end: '2026-02-10' },
    ]);
  });

  it('when a leap February is a whole bucket, then it ends on the 29th', () => {
    expect(buckets('2028-02-01', '2028-03-01', 'month')).toEqual([
      { start: '2028-02-01', end: '2028-02-29' },
      { start: '2028-03-01', end: '2028-03-01' },
    ]);
  });

  it('when the period is one day, then every interval gives that one day', () => {
    for (const interval of ['day', 'week', 'month'] as const) expect(buckets('2026-03-29', '2026-03-29', interval)).toEqual([{ start: '2026-03-29', end: '2026-03-29' }]);
  });

  it('when days are asked over the Berlin DST change, then there is one bucket per calendar day', () => {
    expect(buckets('2026-03-28', '2026-03-30', 'day')).toEqual([
      { start: '2026-03-28', end: '2026-03-28' },
      { start: '2026-03-29', end: '2026-03-29' },
      { start: '2026-03-30', end: '2026-03-30' },
    ]);
  });

  it('when weekly buckets cover a whole year, then they tile it without gaps or overlaps', () => {
    const all = buckets('2026-01-01', '2026-12-31', 'week');
    expect(all[0]).toEqual({ start: '2026-01-01', end: '2026-01-04' });
    expect(all[all.length - 1]).toEqual({ start: '2026-12-28', end: '2026-12-31' });
    for (let i = 1; i < all.length; i++) expect(all[i].start).toBe(addDaysTo(all[i - 1].end, 1));
    expect(all.reduce((n, b) => n + daysBetween(b.start, b.end), 0)).toBe(365);
  });
});
