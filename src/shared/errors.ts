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
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);
/**
 * PostgreSQL SQLSTATEs that mean "try again later": connection exceptions (08…), insufficient
 * resources (53…), shutdown or restart (57P01–57P03), a statement cut off by DB_STATEMENT_TIMEOUT_MS
 * (57014), and transactions the server chose to abort (40001 serialization failure, 40P01 deadlock).
 */
const PG_UNAVAILABLE = /^(08|53|57P0[123]$|57014$|40001$|40P01$)/;
/** The pg driver's words for a connection that died under a query; they carry no code. */
const PG_CONNECTION_LOST = /Connection terminated|connection error and is not queryable|Client was closed and is not queryable/;

/** True when an error means "storage is not usable right now" (answer 503), not "the request is wrong". */
export function isStorageUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown };
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code !== 'string') return err instanceof Error && PG_CONNECTION_LOST.test(err.message);
  return SQLITE_UNAVAILABLE.test(e.code) || NET_UNAVAILABLE.has(e.code) || PG_UNAVAILABLE.test(e.code);
}

/**
 * Failures after the whole wait for the database was spent: SQLite's busy_timeout for another
 * connection's lock, or the pool's acquire timeout. Whatever was waiting would wait the same again.
 */
export function isWaitExhausted(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown };
  return e?.name === 'KnexTimeoutError' || (typeof e?.code === 'string' && /^SQLITE_BUSY/.test(e.code));
}

/** Unique-constraint violations on SQLite and PostgreSQL, mapped in one place. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  if (e?.code === '23505') return true;
  return e?.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && e.message.includes('UNIQUE');
}
