import { isStorageUnavailable, isUniqueViolation } from '../../src/shared/errors';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isStorageUnavailable: which errors answer 503', () => {
  it.each([
    ['SQLite busy', coded('SQLITE_BUSY')],
    ['SQLite read-only file', coded('SQLITE_READONLY')],
    ['SQLite disk full', coded('SQLITE_FULL')],
    ['connection refused', coded('ECONNREFUSED')],
    ['connection reset', coded('ECONNRESET')],
    ['PostgreSQL connection failure', coded('08006')],
    ['PostgreSQL too many connections', coded('53300')],
    ['PostgreSQL shutting down', coded('57P01')],
    ['PostgreSQL starting up', coded('57P03')],
    ['statement timeout', coded('57014')],
    ['serialization failure', coded('40001')],
    ['deadlock', coded('40P01')],
    ['pool exhausted', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })],
    ['connection lost under a query', new Error('Connection terminated unexpectedly')],
  ])('when the error is %s, then it is unavailable', (_name, err) => {
    expect(isStorageUnavailable(err)).toBe(true);
  });

  it.each([
    ['a unique violation', coded('23505')],
    ['a syntax error', coded('42601')],
    ['an undefined table', coded('42P01')],
    ['a SQLite constraint', coded('SQLITE_CONSTRAINT')],
    ['a SQLite error', coded('SQLITE_ERROR')],
    ['a plain bug', new TypeError('x is undefined')],
    ['not an error', 'oops'],
  ])('when the error is %s, then it is not', (_name, err) => {
    expect(isStorageUnavailable(err)).toBe(false);
  });

  it('when the error is a unique violation on either engine, then isUniqueViolation says so', () => {
    expect(isUniqueViolation(coded('23505'))).toBe(true);
    expect(isUniqueViolation(coded('SQLITE_CONSTRAINT', 'SQLITE_CONSTRAINT: UNIQUE constraint failed: surveys.ticket_id'))).toBe(true);
    expect(isUniqueViolation(coded('SQLITE_CONSTRAINT', 'SQLITE_CONSTRAINT: NOT NULL constraint failed'))).toBe(false);
  });
});
