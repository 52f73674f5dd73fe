import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs; customer emails, tokens and secrets are redacted wherever they appear under these keys. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'closeloop' },
    redact: {
      paths: ['email', '*.email', 'token', '*.token', 'secret', '*.secret', 'req.headers.authorization', 'smtpUrl'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
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
