import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from './errors';

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();

/** Constant-time in the secret's content and its length: both sides are hashed first. */
const matches = (given: string, expected: Buffer) => crypto.timingSafeEqual(digest(given), expected);

/** Whether a presented secret equals the configured one, in constant time; nothing matches an empty secret. */
export function secretEquals(given: string | undefined, expected: string): boolean {
  return given !== undefined && expected !== '' && matches(given, digest(expected));
}

/** The password of an HTTP Basic header (any user name), or undefined. */
export function basicPassword(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** The credential a request presents: a Bearer token, or the password of HTTP Basic (any user name). */
function presented(header: string | undefined): string | undefined {
  const bearer = /^Bearer (.*)$/i.exec(header ?? '');
  return bearer ? bearer[1].trim() : basicPassword(header);
}

/**
 * Guards routes with one token: `Authorization: Bearer <token>`, or Basic with the token as password
 * so a browser can log in. `previous` (the token being rotated out) is accepted too while it is set.
 */
export function tokenAuth(token: string, realm: string, what: string, previous?: string, hint = ''): RequestHandler {
  const expected = [token, previous].filter((t): t is string => Boolean(t)).map(digest);
  return (req, res, next) => {
    const given = presented(req.get('authorization'));
    // Every candidate is compared, so the time taken does not tell which one matched.
    const ok = given !== undefined && expected.map((e) => matches(given, e)).some(Boolean);
    if (!ok) {
      res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      throw new AppError(401, 'unauthorized', `This needs the ${what} (Bearer, or as the Basic password).${hint}`);
    }
    next();
  };
}

/** The reports credential, REPORTS_TOKEN: support leads' reports and the email preview. */
export const reportsAuth = (token: string, previous?: string) => tokenAuth(token, 'Closeloop reports', 'reports token', previous, ' Or sign in at /login.');

/** The admin credential, ADMIN_TOKEN: the operators' API, including erasure. */
export const adminAuth = (token: string, previous?: string) => tokenAuth(token, 'Closeloop admin', 'admin token', previous);
