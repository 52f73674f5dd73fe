import type { Response } from 'express';

/**
 * What the presenter of a request may read: everything (an admin, or a token), a lead's teams, or
 * one agent's own rows. Set by the session reader (signin/routes.ts) from the signed-in user, read
 * where data is read (reports/), so every view of the data gets the same limits.
 */
export type Access = { kind: 'all' } | { kind: 'teams'; teams: string[] } | { kind: 'agent'; agentId: string } | { kind: 'none' };

/** The signed-in user's access (res.locals.access), if a session was presented. */
export const sessionAccess = (res: Response): Access | undefined => res.locals.access as Access | undefined;
