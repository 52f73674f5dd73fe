import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { parseConnectionUrl } from 'nodemailer/lib/shared';

export type OutgoingMail = {
  to: string;
  from: string;
  subject: string;
  html: string;
  text: string;
  /** Stable per survey, so a rare re-send after a crash is recognisable as the same message. */
  messageId: string;
  inReplyTo?: string;
  /** The thread's Message-IDs, oldest first (RFC 5322 3.6.4); just inReplyTo when not given. */
  references?: string[];
  /** One-click unsubscribe (RFC 8058): sent as List-Unsubscribe with List-Unsubscribe-Post. */
  unsubscribeUrl?: string;
};

/** A transport failure, sorted into "try again later" or "this will never work". */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly temporary: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** What a send threw, as a DeliveryError: a failure nobody sorted counts as temporary (worth another try). */
export const asDeliveryError = (err: unknown): DeliveryError => (err instanceof DeliveryError ? err : new DeliveryError(String(err), true));

export type Mailer = { send(mail: OutgoingMail): Promise<void>; close(): void; describe(): string };

/**
 * SMTP 5xx replies are permanent; 4xx, network and disk errors are temporary, and so is a refused
 * or failed STARTTLS (ETLS, whatever the reply code): it is the connection's fault, not the
 * message's, and the relay or SMTP_URL may be fixed before the attempts run out.
 */
export function classify(err: unknown): DeliveryError {
  const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
  const detail = [e.code, e.responseCode, e.response ?? e.message].filter(Boolean).join(' ').slice(0, 500);
  const permanent = e.code !== 'ETLS' && typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
  return new DeliveryError(detail || 'unknown delivery error', !permanent);
}

/**
 * The SMTP transport's options: SMTP_URL's (nodemailer reads its query too), pooled, bounded waits.
 * Over smtp:// STARTTLS is required unless SMTP_ALLOW_PLAINTEXT: nodemailer's `requireTLS` sends
 * STARTTLS even when the server does not advertise it (a man in the middle can strip the
 * advertisement) and sends nothing if the upgrade fails; `ignoreTLS` would skip it, so it is off.
 * smtps:// is TLS from the first byte. (https://nodemailer.com/smtp/, "TLS options")
 */
function smtpOptions(smtpUrl: string, allowPlaintext = false): SMTPPool.Options {
  return {
    ...parseConnectionUrl(smtpUrl),
    pool: true,
    ...(!allowPlaintext && { requireTLS: true, ignoreTLS: false }),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  };
}

/** Pooled SMTP when SMTP_URL is set; otherwise each message becomes an .eml file in mailDir. */
export function createMailer(opts: { smtpUrl?: string; allowPlaintext?: boolean; mailDir: string }): Mailer {
  const transport = opts.smtpUrl
    ? nodemailer.createTransport(smtpOptions(opts.smtpUrl, opts.allowPlaintext))
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  const toMessage = (m: OutgoingMail) => ({
    to: m.to,
    from: m.from,
    subject: m.subject,
    html: m.html,
    text: m.text,
    messageId: m.messageId,
    ...(m.inReplyTo && { inReplyTo: m.inReplyTo, references: m.references ?? [m.inReplyTo] }),
    headers: {
      'Auto-Submitted': 'auto-generated',
      ...(m.unsubscribeUrl && { 'List-Unsubscribe': `<${m.unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }),
    },
  });

  return {
    async send(mail) {
      try {
        const info = await transport.sendMail(toMessage(mail));
        // nodemailer throws only when every recipient is refused; ours have one each, but a partial refusal must not pass for delivered.
        const refused = (info as { rejectedErrors?: Error[] }).rejectedErrors?.[0];
        if (refused) throw refused;
        if (!opts.smtpUrl) await writeEml(opts.mailDir, mail.messageId, (info as unknown as { message: Buffer }).message);
      } catch (err) {
        throw classify(err);
      }
    },
    close: () => transport.close(),
    describe: () => (opts.smtpUrl ? `SMTP ${new URL(opts.smtpUrl).host}` : `.eml files in ${path.resolve(opts.mailDir)}`),
  };
}

/**
 * Written under a temporary name and renamed, so a reader never sees half a message. A failed
 * write (a full disk) removes its half-written file, so retries do not pile them up.
 */
async function writeEml(dir: string, messageId: string, message: Buffer): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const name = `${Date.now()}-${messageId.replace(/[^A-Za-z0-9.-]/g, '')}.eml`;
  const tmp = path.join(dir, `.${name}.tmp`);
  try {
    await fs.writeFile(tmp, message);
    await fs.rename(tmp, path.join(dir, name));
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
