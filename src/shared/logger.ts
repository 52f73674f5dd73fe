import fs from 'node:fs';
import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Keys that can hold an email address, a name, a subject, a comment, a token, a secret or a whole
 * body (top level and one level down): redacted wherever a log line carries them.
 */
const SENSITIVE_KEYS = [
  'email', 'customerEmail', 'customer_email', 'to',
  'name', 'customerName', 'customer_name', 'customer',
  'subject', 'comment', 'body', 'html',
  'token', 'unsubscribeToken', 'secret', 'password', 'pass', 'authorization', 'cookie', 'smtpUrl',
];
const REDACT_PATHS = [...SENSITIVE_KEYS, ...SENSITIVE_KEYS.map((k) => `*.${k}`), 'req.headers.authorization', 'req.headers.cookie'];

/** JSON logs; the keys above are redacted, and an Error under `err` or `error` is logged as safeError shows it. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const asSafeError = (value: unknown) => (value instanceof Error ? safeError(value) : value);
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'closeloop' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: asSafeError, error: asSafeError },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Pending log text past this length is written at once rather than at the end of the turn. */
const PENDING_WRITE_AT = 64 * 1024;
const STDOUT_FD = 1;

/**
 * Standard output for the service's log. Lines logged in the same turn of the event loop are joined
 * and written in one synchronous write when the turn ends (setImmediate): under load one write call
 * carries many request lines instead of one each (a write to a pipe cost about 80 µs of the event loop
 * per request, BENCHMARKS.md). Every write is synchronous and made from this thread, so lines arrive
 * whole and in the order they were logged, and what is pending is written when the process exits
 * (process.exit or an uncaught error). A SIGKILL loses the lines of the turn under way. A reader that
 * stops reading stalls the service, as any synchronous log does; a reader that is gone (EPIPE) ends
 * the log, not the service.
 */
export function batchedStdout(): pino.DestinationStream {
  let pending = '';
  let scheduled = false;
  let closed = false;
  const flushSync = () => {
    scheduled = false;
    const text = pending;
    pending = '';
    if (text && !closed) closed = !writeWhole(STDOUT_FD, text);
  };
  process.on('exit', flushSync);
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= PENDING_WRITE_AT) flushSync();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flushSync);
      }
    },
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to `fd`, waiting out a full non-blocking pipe; false when the reader is gone. */
function writeWhole(fd: number, text: string): boolean {
  let rest = Buffer.from(text);
  while (rest.length) {
    try {
      rest = rest.subarray(fs.writeSync(fd, rest));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return false;
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
  return true;
}

/** What a log line may say about an error. */
export type SafeError = { type: string; code?: string; message: string; cause?: SafeError; stack?: string[] };

const SHORT_MESSAGE_MAX = 300;
const FRAME = /^\s+at \S.*(:\d+:\d+\)?|\(index \d+\)|<anonymous>\)?|\(native\))$/;

/**
 * An error as it may be logged: its class, its code and the driver's own short message. knex puts
 * the SQL, with the bound values (customers' addresses, names, subjects, comments), before the
 * driver's message: "insert into … values ('ann@…', …) - SQLITE_BUSY: database is locked". Whatever
 * the values hold, the text after the last " - " is part of the driver's message, so that is what is
 * kept (first line, addresses masked, bounded). PostgreSQL's `detail`, which quotes the row, and every
 * other field are left out; the stack keeps only its trailing frames (code locations, no message).
 */
export function safeError(err: unknown): SafeError {
  return describeError(err, 0);
}

function describeError(err: unknown, depth: number): SafeError {
  if (typeof err !== 'object' || err === null) return { type: typeof err, message: shortMessage(String(err)) };
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; stack?: unknown; name?: unknown };
  const type = err.constructor?.name && err.constructor.name !== 'Object' ? err.constructor.name : typeof e.name === 'string' ? e.name : 'object';
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : undefined;
  const frames = typeof e.stack === 'string' ? trailingFrames(e.stack) : [];
  return {
    type,
    ...(code && { code }),
    message: shortMessage(typeof e.message === 'string' ? e.message : ''),
    ...(e.cause !== undefined && depth < 2 && { cause: describeError(e.cause, depth + 1) }),
    ...(frames.length && { stack: frames }),
  };
}

/** The driver's part of a (knex) message: after the last " - ", its first line, addresses masked. */
function shortMessage(message: string): string {
  const at = message.lastIndexOf(' - ');
  const tail = at < 0 ? message : message.slice(at + 3);
  return maskEmails(tail.split('\n', 1)[0].trim()).slice(0, SHORT_MESSAGE_MAX);
}

/** The stack's last run of "at …" lines: a message (with values) comes before it and never inside it. */
function trailingFrames(stack: string): string[] {
  const lines = stack.split('\n');
  let start = lines.length;
  while (start > 0 && FRAME.test(lines[start - 1])) start -= 1;
  return lines.slice(start, start + 8).map((l) => l.trim());
}

/** "ann@example.com" -> "a***@example.com": enough to debug, not enough to identify. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`;
}

const EMAILS_IN_TEXT = /[^\s<>"'@]+@[^\s<>"']+/g;

/** Masks every email address in a text (SMTP replies quote the recipient) before it is logged. */
export const maskEmails = (text: string): string => text.replace(EMAILS_IN_TEXT, (email) => maskEmail(email));

/** Replaces every email address in a text with `[address]`: for texts that are stored (delivery errors). */
export const withoutEmails = (text: string): string => text.replace(EMAILS_IN_TEXT, '[address]');
