/** Services take the time from here so tests can pass a fixed clock instead of sleeping. */
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };

export const addMinutes = (d: Date, minutes: number): Date => new Date(d.getTime() + minutes * 60_000);
export const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * 86_400_000);
