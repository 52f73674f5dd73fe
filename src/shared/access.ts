import type { Response } from 'express';

/**
 * What the presenter of a request may read: everything (an admin, or a token), a lead's teams, or
 * one agent's own rows. Set by the session reader (signin/routes.ts) from the signed-in user, read
 * where data is read (reports/), so every view of the data gets the same limits.
 */
export type Access = { kind: 'all' } | { kind: 'teams'; teams: string[] } | { kind: 'agent'; agentId: string } | { kind: 'none' };

/** The signed-in user's access (res.locals.access), if a session was presented. */
export const sessionAccess = (res: Response): Access | undefined => res.locals.access as Access | undefined;

/** Who presented a request, for the audit trail: the signed-in user's email, or the credential used. */
export const actorOf = (res: Response, credential: string): string =>
  res.req.get('authorization') ? credential : ((res.locals.viewer as { email?: string } | undefined)?.email ?? credential);

/** Records what a request did in the audit trail (audit/, wired in app.ts); the areas stay unaware of it. */
export type AuditHook = (res: Response, event: { actor: string; action: 'export' | 'erasure'; subject?: string | null; detail?: Record<string, unknown> }) => Promise<void>;

/** What a page's header shows of the signed-in user (name, role) and its sign-out form's CSRF token; undefined without a session. */
export function signedIn(res: Response): { name: string; role: string; csrf: string } | undefined {
  const viewer = res.locals.viewer as { name: string; role: string; csrf: string } | undefined;
  return viewer && { name: viewer.name, role: viewer.role, csrf: viewer.csrf };
}
