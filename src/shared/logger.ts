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

/** The most log text held in memory while standard output cannot take it (a stalled reader): beyond it, lines are dropped. */
const PENDING_LOG_MAX = 16 * 1024 * 1024;

/**
 * Standard output for the service's log, written asynchronously: a line logged while the previous
 * write is under way joins the next one, so under load one write call carries many lines instead
 * of one each (a write to a pipe cost about 80 µs of the event loop per request, BENCHMARKS.md).
 * When idle, each line goes at once. pino writes what is pending when the process exits (a crash
 * included); a SIGKILL loses the lines logged while the last write was under way. A reader that
 * stops reading stalls the log, not the service: past 16 MiB waiting, lines are dropped.
 */
export const asyncStdout = (): pino.DestinationStream => pino.destination({ dest: 1, sync: false, maxLength: PENDING_LOG_MAX });

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
