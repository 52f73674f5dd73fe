/** The one error type the HTTP layer knows how to answer: a status and a machine-readable code. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string = code,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN|FULL|CORRUPT|NOTADB|PROTOCOL|PERM)/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P03']);

/** True when an error means "storage is not usable right now" (answer 503), not "the request is wrong". */
export function isStorageUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code !== 'string') return false;
  return SQLITE_UNAVAILABLE.test(e.code) || NET_UNAVAILABLE.has(e.code) || e.code.startsWith('08');
}

/** Unique-constraint violations on SQLite and PostgreSQL, mapped in one place. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  if (e?.code === '23505') return true;
  return e?.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && e.message.includes('UNIQUE');
}
