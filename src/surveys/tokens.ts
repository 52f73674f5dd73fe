import crypto from 'node:crypto';

/** 32 random bytes (256 bits) as base64url: 43 URL-safe characters. */
export function mintToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** Only this hash is stored, so a copy of the database cannot be used to rate. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** Cheap shape check before touching storage; anything else is "unknown token". */
export const looksLikeToken = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s);
