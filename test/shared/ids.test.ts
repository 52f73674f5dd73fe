import { timeOrderedId } from '../../src/shared/ids';

describe('timeOrderedId', () => {
  const at = new Date('2026-12-01T14:15:16.789Z');

  it('is a UUID version 7 (RFC 9562) whose first 48 bits are the time in milliseconds', () => {
    const id = timeOrderedId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at.getTime());
  });

  it('when ids are made later, then they sort after earlier ones; made at one moment, they are still all different', () => {
    const times = [0, 1, 999, 1000, 86_400_000, 2 ** 40].map((ms) => new Date(at.getTime() + ms));
    const ids = times.map(timeOrderedId);
    expect([...ids].sort()).toEqual(ids);
    const same = Array.from({ length: 10_000 }, () => timeOrderedId(at));
    expect(new Set(same).size).toBe(same.length);
  });

  it('when the time is before 1970 or past the 48 bits, then it is clamped rather than wrapped', () => {
    expect(timeOrderedId(new Date(-5)).startsWith('00000000-0000-7')).toBe(true);
    expect(timeOrderedId(new Date(2 ** 49)).startsWith('ffffffff-ffff-7')).toBe(true);
  });
});
