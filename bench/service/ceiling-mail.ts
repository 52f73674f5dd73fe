/**
 * The delivery ceiling, run as its own process: a bare nodemailer pool, made the way the
 * service's mailer makes it (SMTP_URL + pool=true: 5 connections, 100 messages each, same
 * timeouts), sends the same rendered message (subject, HTML, text, headers) `count` times with
 * `concurrency` sends in flight, as many as the outbox worker claims at once. No database, no
 * tokens, no template: what is left is what nodemailer and the sink cost.
 *   → {type:'send', smtpUrl, message, count, concurrency, noDelay}   ← {type:'sent', failures}
 * `noDelay` (a diagnostic, not the ceiling): the pool's sockets get TCP_NODELAY, which nodemailer 7
 * does not set. Without it a message's last small write can wait for the sink's delayed ACK.
 */
import net from 'node:net';
import nodemailer from 'nodemailer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';

export type MailSpec = {
  smtpUrl: string;
  message: { from: string; to: string; subject: string; html: string; text: string; headers: Record<string, string> };
  count: number;
  concurrency: number;
  noDelay: boolean;
};

/** nodemailer's hook for a socket of our own (made for proxies): connected, with Nagle off. */
function noDelaySocket(options: { host?: string; port?: number }, callback: (err: Error | null, socket?: { connection: net.Socket }) => void) {
  const socket = net.connect(options.port ?? 25, options.host ?? '127.0.0.1');
  socket.setNoDelay(true);
  socket.once('error', (err) => callback(err));
  socket.once('connect', () => callback(null, { connection: socket }));
}

async function send(spec: MailSpec): Promise<number> {
  const transport = nodemailer.createTransport({
    ...parseConnectionUrl(spec.smtpUrl),
    pool: true,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
    ...(spec.noDelay && { getSocket: noDelaySocket }),
  });
  let next = 0;
  let failures = 0;
  const loop = async () => {
    while (next < spec.count) {
      const i = next++;
      await transport.sendMail({ ...spec.message, messageId: `<ceiling.${i}@closeloop.example>` }).catch(() => failures++);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  transport.close();
  return failures;
}

process.on('message', (m: { type: string } & MailSpec) => {
  if (m.type !== 'send') return;
  send(m)
    .then((failures) => process.send?.({ type: 'sent', failures }))
    .catch((err) => process.send?.({ type: 'sent', failures: m.count, error: String(err) }));
});
process.send?.({ type: 'ready' });
