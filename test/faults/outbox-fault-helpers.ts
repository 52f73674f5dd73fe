import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { ratingLinks } from '../helpers/smtp';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { testCertificate, withTestCa } from '../helpers/tls';
import { validWith } from '../surveys/fixtures';
import type { SmtpFault } from './faulty-smtp';

/**
 * Shared by the fault cases of the two newer outboxes, lead alerts (src/alerts/) and reminders
 * (src/reminders/): a relay that keeps what it accepted (the cases read rating links out of survey
 * emails and the alerts out of a digest), and the definitions file that names the leads.
 */

/** The leads of the fault cases: billing and shipping have their own, every other team (and none) goes to desk. */
export const LEADS = {
  billing: 'ana@leads.example',
  shipping: 'sam@leads.example',
  default: 'desk@leads.example',
} as const;

/** The survey definitions file (test/surveys/fixtures.ts VALID_LINES) with those leads. */
export const surveysWithLeads = () =>
  validWith({}, ['teams:', '  billing:', `    leads: [${LEADS.billing}]`, '  shipping:', `    leads: [${LEADS.shipping}]`, `default_leads: [${LEADS.default}]`]);

/** The kind of a message, by its Message-ID (src/delivery, src/reminders, src/alerts). */
export type Kind = 'survey' | 'reminder' | 'alert' | 'other';
export const kindOf = (messageId: string): Kind => (/^<(survey|reminder|alert)\./.exec(messageId)?.[1] as Kind | undefined) ?? 'other';

/** One message the relay accepted: its whole DATA arrived (a message cut off mid-DATA is not one). */
export type Received = { messageId: string; kind: Kind; to: string[]; at: number; raw: string; parsed: Promise<ParsedMail> };

const headerBlock = (raw: string) => raw.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
const messageIdOf = (raw: string) => /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(headerBlock(raw))?.[1] ?? '(none)';

/** A send the relay holds after its DATA: the message has arrived, and the sender waits for the relay's answer. */
type Gate = { prefix: string; reached: (m: Received) => void };

/**
 * A real SMTP server for fault cases, as test/faults/faulty-smtp.ts (the same faults: refused connections,
 * 421 at the greeting, 451 at RCPT TO, 550 for chosen recipients; reached through a TCP proxy; STARTTLS), and
 * besides:
 *  - `tempfailRecipients` answers 451 for chosen addresses only, as `rejectRecipients` does 550;
 *  - every accepted message is kept whole (`raw`, `parsed`), so a case can follow a survey email's rating
 *    links or read which alerts a digest carried;
 *  - `replyDelayMs` answers each DATA that long after the message arrived, so there are always sends in
 *    flight whose message the relay already has (a kill then lands between the relay accepting and the
 *    service marking the row sent);
 *  - `gate(prefix)` holds the answer to the next message whose Message-ID starts with `prefix` until the
 *    relay closes: a sender killed meanwhile never hears that its message arrived.
 */
export async function startRelay(options: { replyDelayMs?: number } = {}) {
  const state = {
    fault: 'none' as SmtpFault,
    rejectRecipients: new Set<string>(),
    /** Addresses answered 451 at RCPT TO whatever `fault` is (a full mailbox, greylisting): the others of the message are accepted. */
    tempfailRecipients: new Set<string>(),
    replyDelayMs: options.replyDelayMs ?? 0,
    /** How often each fault was actually answered: a phase that was never hit proves nothing. */
    seen: { greet421: 0, tempfail451: 0, reject550: 0 },
  };
  const received: Received[] = [];
  /** Answers the relay owes (delayed or gated), given on close so no connection waits on it. */
  const owed = new Set<() => void>();
  const gates: Gate[] = [];
  /** Messages whose answer is being held right now, by Message-ID. */
  const holding = new Map<string, number>();

  const server = new SMTPServer({
    authOptional: true,
    ...testCertificate(),
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
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = messageIdOf(raw);
        const message: Received = { messageId, kind: kindOf(messageId), to: session.envelope.rcptTo.map((r) => r.address), at: Date.now(), raw, parsed: simpleParser(raw) };
        message.parsed.catch(() => undefined); // read when a case asks; a parse failure fails it there
        received.push(message);
        let answered = false;
        const answer = () => {
          if (answered) return;
          answered = true;
          owed.delete(answer);
          const n = (holding.get(messageId) ?? 1) - 1;
          if (n > 0) holding.set(messageId, n);
          else holding.delete(messageId);
          cb();
        };
        const gate = gates.findIndex((g) => messageId.startsWith(g.prefix));
        if (gate < 0 && state.replyDelayMs <= 0) return cb();
        holding.set(messageId, (holding.get(messageId) ?? 0) + 1);
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
    for (const m of received) byId.set(m.messageId, (byId.get(m.messageId) ?? 0) + 1);
    return byId;
  };

  return {
    url: withTestCa(`smtp://127.0.0.1:${proxy.port}`),
    state,
    received,
    counts,
    /** The messages of one kind. */
    ofKind: (kind: Kind) => received.filter((m) => m.kind === kind),
    /** Message-IDs whose answer is being held now (delayed or gated). */
    holding: () => [...holding.keys()],
    /** Holds the answer to the next message whose Message-ID starts with `prefix` (until close); `got` answers that message once it has arrived. */
    gate(prefix: string) {
      let got: Received | undefined;
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

export type Relay = Awaited<ReturnType<typeof startRelay>>;

/** The token of a survey email's rating links (src/surveys/tokens.ts), read from the email as a person's mail client shows it. */
export async function ratingToken(message: Received): Promise<string> {
  const links = ratingLinks(await message.parsed);
  if (links.length !== 5) throw new Error(`expected 5 rating links in ${message.messageId}, found ${links.length}`);
  return new URL(links[0]).pathname.split('/')[2];
}

/** The follow-up ids an alert email announces (each alert's "Follow-up: …/followups#f<id>" line). */
export async function followupsIn(message: Received): Promise<number[]> {
  return [...((await message.parsed).text ?? '').matchAll(/\/followups#f(\d+)\b/g)].map((m) => Number(m[1]));
}

/** Status → number of rows, for the outboxes the two cases read. */
export async function statusesOf(db: Knex, table: 'surveys' | 'outbox' | 'reminders' | 'lead_alerts'): Promise<Record<string, number>> {
  const rows: Array<{ status: string; n: number | string }> = await db(table).groupBy('status').select('status').count({ n: '*' });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** How many rows of `table` are pending. */
export const pendingIn = async (db: Knex, table: 'outbox' | 'reminders' | 'lead_alerts') => (await statusesOf(db, table)).pending ?? 0;
