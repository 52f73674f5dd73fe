import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { testCertificate, withTestCa } from '../helpers/tls';

/** What the server answers besides a plain "250 OK": nothing odd, 421 at the greeting, or 451 at RCPT TO. */
export type SmtpFault = 'none' | 'greet421' | 'tempfail451';

/** One message the server accepted (answered 250 after DATA): a message cut off mid-DATA is not one. */
export type Arrived = { messageId: string; to: string[]; at: number };

const headerBlock = (raw: string) => raw.split(/\r?\n\r?\n/, 1)[0];
const messageIdOf = (raw: string) => /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(headerBlock(raw))?.[1] ?? '(none)';

/**
 * A real SMTP server for fault cases, reached through a TCP proxy. test/helpers/smtp.ts answers 451
 * and 550 per recipient; these cases also need a server that refuses connections (`refuse()` drops
 * every connection and refuses new ones, `accept()` listens again on the same port) and one that
 * answers 421 at the greeting. Every accepted message is recorded with its Message-ID, so
 * duplicates are countable.
 */
export async function startFaultySmtp() {
  const state = {
    fault: 'none' as SmtpFault,
    rejectRecipients: new Set<string>(),
    /** How often each fault was actually answered: a phase that was never hit proves nothing. */
    seen: { greet421: 0, tempfail451: 0, reject550: 0 },
  };
  const arrived: Arrived[] = [];

  const server = new SMTPServer({
    authOptional: true,
    ...testCertificate(), // STARTTLS, as the production default requires (helpers/tls.ts)
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, cb) {
      if (state.fault !== 'greet421') return cb();
      state.seen.greet421 += 1;
      cb(Object.assign(new Error('4.3.2 Service not available, closing transmission channel'), { responseCode: 421 }));
    },
    onRcptTo(address, _session, cb) {
      if (state.rejectRecipients.has(address.address)) {
        state.seen.reject550 += 1;
        return cb(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      }
      if (state.fault === 'tempfail451') {
        state.seen.tempfail451 += 1;
        return cb(Object.assign(new Error('4.3.0 Mailbox temporarily unavailable, try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined); // the client went away mid-DATA: nothing arrived
      stream.on('end', () => {
        arrived.push({ messageId: messageIdOf(Buffer.concat(chunks).toString('utf8')), to: session.envelope.rcptTo.map((r) => r.address), at: Date.now() });
        cb();
      });
    },
  });
  server.on('error', () => undefined); // a killed client resets its connection: expected in these tests
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: (server.server.address() as AddressInfo).port });

  /** Message-ID → how many times it arrived. */
  const counts = () => {
    const byId = new Map<string, number>();
    for (const m of arrived) byId.set(m.messageId, (byId.get(m.messageId) ?? 0) + 1);
    return byId;
  };

  return {
    url: withTestCa(`smtp://127.0.0.1:${proxy.port}`),
    state,
    arrived,
    counts,
    /** Messages that arrived more than once, with how many extra copies. */
    duplicates: () => [...counts()].filter(([, n]) => n > 1).map(([messageId, n]) => ({ messageId, extra: n - 1 })),
    /** Connections are refused (and open ones dropped), as a mail relay that is down. The port is free meanwhile: keep it short. */
    refuse: () => proxy.cut({ refuse: true }),
    accept: () => proxy.restore(),
    async close() {
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FaultySmtp = Awaited<ReturnType<typeof startFaultySmtp>>;
