import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { testCertificate, withTestCa } from './tls';

export type SmtpMode = 'accept' | 'tempfail' | 'permfail';

/** A RCPT TO the server holds until the test answers it: a send that lasts as long as the test wants. */
export type HeldSend = {
  /** Resolves when a send reached the server and is being held. */
  reached: Promise<void>;
  /** Answers the held RCPT TO as `mode` would; `reply` replaces the text of a 451/550 reply. */
  answer(mode: SmtpMode, reply?: string): void;
};

/**
 * A real SMTP server on an ephemeral loopback port. `mode` can be flipped while
 * a test runs; `rejectRecipients` answers 550 for chosen addresses only; `hold()` holds the next send.
 * It offers STARTTLS with a test certificate that its `url` trusts (the production default: STARTTLS
 * required); `{ starttls: false }` makes a server that cannot encrypt, with a plain `url`.
 */
export async function startSmtpServer(port = 0, options: { starttls?: boolean } = {}) {
  const starttls = options.starttls ?? true;
  const messages: ParsedMail[] = [];
  /** `inClear`: messages that arrived over a connection that was not encrypted. */
  const state = { mode: 'accept' as SmtpMode, rejectRecipients: new Set<string>(), connections: 0, inClear: 0 };
  const holds: Array<{ reach: () => void; answered: Promise<{ mode: SmtpMode; reply?: string }> }> = [];
  const server = new SMTPServer({
    authOptional: true,
    ...(starttls ? testCertificate() : { disabledCommands: ['STARTTLS'] }),
    logger: false,
    onConnect(_session, cb) {
      state.connections += 1;
      cb();
    },
    onRcptTo(address, _session, cb) {
      const answer = (mode: SmtpMode, reply?: string) => {
        if (state.rejectRecipients.has(address.address)) return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
        if (mode === 'tempfail') return cb(Object.assign(new Error(reply ?? '4.3.0 Try again later'), { responseCode: 451 }));
        if (mode === 'permfail') return cb(Object.assign(new Error(reply ?? '5.7.1 Rejected'), { responseCode: 550 }));
        cb();
      };
      const held = holds.shift();
      if (!held) return answer(state.mode);
      held.reach();
      void held.answered.then(({ mode, reply }) => answer(mode, reply));
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          if (!session.secure) state.inClear += 1;
          messages.push(mail);
          cb();
        })
        .catch(cb);
    },
  });
  // A client that dies mid-session (a killed instance) resets its connection: expected here, not a test failure.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const boundPort = (server.server.address() as AddressInfo).port;

  return {
    port: boundPort,
    url: starttls ? withTestCa(`smtp://127.0.0.1:${boundPort}`) : `smtp://127.0.0.1:${boundPort}`,
    messages,
    state,
    /** Waits until `count` messages arrived; the bound is a safety net (see waitFor). */
    async waitForMessages(count: number, timeoutMs = 60_000): Promise<ParsedMail[]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return messages;
    },
    /** Holds the next send at RCPT TO until `answer` is called (sends after it are answered as usual). */
    hold(): HeldSend {
      let reach!: () => void;
      let answer!: (a: { mode: SmtpMode; reply?: string }) => void;
      const reached = new Promise<void>((resolve) => (reach = resolve));
      holds.push({ reach, answered: new Promise((resolve) => (answer = resolve)) });
      return { reached, answer: (mode, reply) => answer({ mode, reply }) };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpTestServer = Awaited<ReturnType<typeof startSmtpServer>>;

/** The rating links of a parsed survey email, from its text part. */
export function ratingLinks(mail: ParsedMail): string[] {
  return [...(mail.text ?? '').matchAll(/https?:\/\/\S+\/r\/[A-Za-z0-9_-]{43}\/[1-5]/g)].map((m) => m[0]);
}
