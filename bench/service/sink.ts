/**
 * The local SMTP sink, run as its own process: accepts every message (no TLS, no auth, so
 * neither the service nor the ceiling pays for a handshake the sink would not need) and clocks
 * arrivals. Protocol over IPC:
 *   → {type:'expect', count, keep}  start counting afresh; `keep`: collect each message's rating token
 *   ← {type:'first'}  at the first arrival (the bench then reads the sender's CPU time)
 *   ← {type:'arrived', count, firstUs, lastUs, tokens, sample}  once `count` messages have arrived
 *     (times on the monotonic clock; `sample` is the first message as received, for the ceiling)
 * Sends {type:'ready', port} when listening.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { monotonicUs } from './usage';

/** A rating link of the email; a quoted-printable soft line break may sit anywhere in it. */
const RATING_LINK = /\/r\/([A-Za-z0-9_-]{43})\/[1-5]\b/;

let expected = 0;
let keep = false;
let arrived = 0;
let [firstUs, lastUs] = [0, 0];
let tokens: string[] = [];
let sample: string | undefined;

function received(message: Buffer) {
  const now = monotonicUs();
  lastUs = now;
  if (++arrived === 1) {
    firstUs = now;
    sample = message.toString('utf8');
    process.send?.({ type: 'first' });
  }
  if (keep) {
    const token = RATING_LINK.exec(message.toString('latin1').replace(/=\r?\n/g, ''))?.[1];
    if (token) tokens.push(token);
  }
  if (arrived === expected) process.send?.({ type: 'arrived', count: arrived, firstUs, lastUs, tokens, sample });
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      received(Buffer.concat(chunks));
      callback();
    });
  },
});

process.on('message', (m: { type: string; count: number; keep: boolean }) => {
  if (m.type !== 'expect') return;
  [expected, keep, arrived, tokens, sample] = [m.count, m.keep, 0, [], undefined];
});
server.on('error', (err) => process.stderr.write(`sink: ${err.message}\n`));
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.server.address() as AddressInfo).port }));
