import type { Clock } from '../../src/shared/clock';
import { createLogger, type Logger } from '../../src/shared/logger';
import { bootApp, type TestApp } from './boot';
import { startSmtpServer, type SmtpTestServer } from './smtp';

export type SmtpOptions = {
  /** false: a server that cannot encrypt, with a plain url (see startSmtpServer). */
  starttls?: boolean;
  /** The app's logger (bootApp's third argument), for tests that read the log. */
  logger?: Logger;
};

export type MailApp = TestApp & {
  /** The real SMTP server the app sends to (SMTP_URL); after `stopSmtp()` and its restart, the new one. */
  smtp: SmtpTestServer;
  /**
   * Takes the SMTP server down (connections are refused meanwhile) and answers a function that starts a
   * fresh one on the same port, which then becomes `smtp`. `close()` closes whichever one is running.
   */
  stopSmtp(): Promise<() => Promise<SmtpTestServer>>;
  /** Stops the app first (its worker finishes its sends, its SMTP pool closes), then the SMTP server. */
  close(): Promise<void>;
};

/**
 * A real SMTP server on an ephemeral loopback port, and the whole service on a fresh database sending to
 * it (SMTP_URL set last, over anything in `env`). The worker is driven by the test unless started.
 */
export async function bootWithSmtp(env: Record<string, string> = {}, clock: Clock = { now: () => new Date() }, options: SmtpOptions = {}): Promise<MailApp> {
  const smtpOptions = { starttls: options.starttls };
  let smtp: SmtpTestServer | undefined = await startSmtpServer(0, smtpOptions);
  let app: TestApp;
  try {
    app = await bootApp({ ...env, SMTP_URL: smtp.url }, clock, options.logger ?? createLogger('silent'));
  } catch (err) {
    await smtp.close(); // a boot that fails (a bad SURVEYS_FILE) must not leave the server listening and hang jest
    throw err;
  }
  const mailApp: MailApp = {
    ...app,
    smtp,
    async stopSmtp() {
      const { port } = mailApp.smtp;
      const running = smtp;
      smtp = undefined;
      await running?.close();
      return async () => {
        smtp = await startSmtpServer(port, smtpOptions);
        mailApp.smtp = smtp;
        return smtp;
      };
    },
    async close() {
      // In this order: the app's in-flight sends end and its pooled connections close before the server
      // goes, so the server's close does not wait out connections that are still open.
      try {
        await app.close();
      } finally {
        const running = smtp;
        smtp = undefined;
        await running?.close();
      }
    },
  };
  return mailApp;
}
