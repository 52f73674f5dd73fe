import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { testCertificate, withTestCa } from '../helpers/tls';

/** What the server answers besides a plain "250 OK": nothing odd, 421 at the greeting, or 451 at RCPT TO. */
export type SmtpFault = 'none' | 'greet421' | 'tempfail451';

/** One message the server accepted: its whole DATA arrived (a message cut off mid-DATA is not one), answered at once unless delayed or gated. */
export type Arrived = {
  messageId: string;
  to: string[];
  at: number;
  /** The whole message, headers and body, as it arrived. */
  raw: string;
  /** `raw` parsed by mailparser, on first read (most cases never read it). */
  readonly parsed: Promise<ParsedMail>;
};

const headerBlock = (raw: string) => raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
const messageIdOf = (raw: string) => /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(headerBlock(raw))?.[1] ?? '(none)';

function arrivedOf(raw: string, to: string[]): Arrived {
  let parsed: Promise<ParsedMail> | undefined;
  return {
    messageId: messageIdOf(raw),
    to,
    at: Date.now(),
    raw,
    get parsed() {
      return (parsed ??= simpleParser(raw));
    },
  };
}

/** A send the server holds after its DATA: the message has arrived, and the sender waits for the answer. */
type Gate = { prefix: string; reached: (m: Arrived) => void };

/**
 * A real SMTP server for fault cases, reached through a TCP proxy, with STARTTLS. test/helpers/smtp.ts
 * answers 451 and 550 per recipient; these cases also need a server that refuses connections
 * (`refuse()` drops every connection and refuses new ones, `accept()` listens again on the same port)
 * and one that answers 421 at the greeting. Besides:
 *  - `rejectRecipients` answers 550 for chosen addresses, `tempfailRecipients` 451 (the others of the
 *    message are accepted);
 *  - every accepted message is kept whole (`raw`, `parsed`) with its Message-ID, so duplicates are
 *    countable and a case can follow a survey email's rating links or read which alerts a digest carried;
 *  - `replyDelayMs` answers each DATA that long after the message arrived, so there are always sends in
 *    flight whose message the server already has (a kill then lands between the relay accepting and
 *    the service marking the row sent);
 *  - `gate(prefix)` holds the answer to the next message whose Message-ID starts with `prefix` until the
 *    server closes: a sender killed meanwhile never hears that its message arrived.
 */
export async function startFaultySmtp(options: { replyDelayMs?: number } = {}) {
  const state = {
    fault: 'none' as SmtpFault,
    rejectRecipients: new Set<string>(),
    /** Addresses answered 451 at RCPT TO whatever `fault` is (a full mailbox, greylisting). */
    tempfailRecipients: new Set<string>(),
    replyDelayMs: options.replyDelayMs ?? 0,
    /** How often each fault was actually answered: a phase that was never hit proves nothing. */
    seen: { greet421: 0, tempfail451: 0, reject550: 0 },
  };
  const arrived: Arrived[] = [];
  /** Answers the server owes (delayed or gated), given on close so no connection waits on it. */
  const owed = new Set<() => void>();
  const gates: Gate[] = [];
  /** Messages whose answer is being held right now, by Message-ID. */
  const holding = new Map<string, number>();

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
      if (state.fault === 'tempfail451' || state.tempfailRecipients.has(address.address)) {
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
        const message = arrivedOf(
          Buffer.concat(chunks).toString('utf8'),
          session.envelope.rcptTo.map((r) => r.address),
        );
        arrived.push(message);
        const gate = gates.findIndex((g) => message.messageId.startsWith(g.prefix));
        if (gate < 0 && state.replyDelayMs <= 0) return cb();
        let answered = false;
        const answer = () => {
          if (answered) return;
          answered = true;
          owed.delete(answer);
          const n = (holding.get(message.messageId) ?? 1) - 1;
          if (n > 0) holding.set(message.messageId, n);
          else holding.delete(message.messageId);
          cb();
        };
        holding.set(message.messageId, (holding.get(message.messageId) ?? 0) + 1);
        owed.add(answer);
        if (gate >= 0) gates.splice(gate, 1)[0].reached(message);
        else setTimeout(answer, state.replyDelayMs);
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
    /** Message-IDs whose answer is being held now (delayed or gated). */
    holding: () => [...holding.keys()],
    /** Holds the answer to the next message whose Message-ID starts with `prefix` (until close); `got` answers that message once it has arrived. */
    gate(prefix: string) {
      let got: Arrived | undefined;
      gates.push({ prefix, reached: (m) => (got = m) });
      return { got: () => got };
    },
    /** Connections are refused (and open ones dropped), as a mail relay that is down. The port is free meanwhile: keep it short. */
    refuse: () => proxy.cut({ refuse: true }),
    accept: () => proxy.restore(),
    async close() {
      gates.length = 0;
      for (const answer of [...owed]) answer();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FaultySmtp = Awaited<ReturnType<typeof startFaultySmtp>>;
