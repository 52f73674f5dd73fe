import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { MailSpec } from './ceiling-mail';
import { perInstance, startDeployment, type Deployment, type Setup } from './deployment';
import type { Rate, Sink } from './mailbox';
import { nextMessage, startNode, stop } from './processes';
import type { Store } from './stores';

/** `perInstance`: with several instances, how many emails each one's worker sent. */
export type DeliveryFigures = { service: Rate; ceiling: Rate; noDelay: Rate; tokenCheck: boolean; perInstance?: number[] };

type Settings = { setup: Setup; dir: string; sink: Sink; say: (line: string) => void };

/**
 * The ingest ran with a 30-day delay; as if that time had passed, the first `count` pending
 * outbox rows (oldest first) become due now. The only write the bench makes to the service's data.
 */
async function makeDue(store: Store, count: number): Promise<number> {
  const db = store.open();
  try {
    const oldest = db('outbox').where({ status: 'pending' }).orderBy('id').limit(count).select('id');
    return await db('outbox').whereIn('id', oldest).update({ due_at: new Date() });
  } finally {
    await db.destroy();
  }
}

/** The message the service sent, as fields for nodemailer: the ceiling sends exactly this. */
async function asMessage(raw: string): Promise<MailSpec['message']> {
  const mail = await simpleParser(raw);
  const header = (key: string) => mail.headerLines.find((h) => h.key === key)?.line.replace(/^[^:]*:\s*/, '').replace(/\r?\n[ \t]+/g, ' ') ?? '';
  const to = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : (mail.to?.text ?? '');
  return {
    from: mail.from?.text ?? '',
    to,
    subject: mail.subject ?? '',
    html: mail.html || '',
    text: mail.text ?? '',
    headers: { 'Auto-Submitted': header('auto-submitted'), 'List-Unsubscribe': header('list-unsubscribe'), 'List-Unsubscribe-Post': header('list-unsubscribe-post') },
  };
}

/** `count` sends from a bare nodemailer pool in its own process, clocked at the sink. */
async function bareSend(s: Settings, spec: Omit<MailSpec, 'smtpUrl'>, timeoutMs: number): Promise<Rate> {
  // As many SMTP connections as the instances' pools have together (nodemailer's default: 5 each).
  const pool = s.setup.instances > 1 ? `?maxConnections=${5 * s.setup.instances}` : '';
  const bare = startNode(path.join(__dirname, 'ceiling-mail.js'));
  try {
    await nextMessage(bare.child, 'ready');
    const arrival = s.sink.expect(spec.count, { keep: false, timeoutMs, senderPids: () => [bare.pid] });
    arrival.catch(() => {}); // awaited below, unless the pool reports failures first
    bare.child.send({ type: 'send', smtpUrl: `smtp://127.0.0.1:${s.sink.port}${pool}`, ...spec });
    const done = await nextMessage<{ failures: number; error?: string }>(bare.child, 'sent', timeoutMs);
    if (done.failures) throw new Error(`the bare nodemailer pool failed to send ${done.failures} of ${spec.count} messages ${done.error ?? ''}`);
    return await arrival;
  } finally {
    await stop(bare.child);
  }
}

/**
 * Delivery: a service started on the ingested store finds `emails` due rows at once and its
 * outbox worker sends them through its nodemailer pool to the sink (several instances: all their
 * workers, each claiming under its lease); then a bare nodemailer pool sends the first of those
 * messages as often to the same sink (the ceiling; for several instances, with their pools'
 * connections and sends in flight together), and once more with TCP_NODELAY on its sockets (a
 * diagnostic of the transport). The service's Rate carries the rating tokens the sink found.
 */
export async function measureDelivery(s: Settings & { emails: number; concurrency: number; profileDir?: string }): Promise<DeliveryFigures> {
  const due = await makeDue(s.setup.store, s.emails);
  const timeoutMs = 60_000 + due * 100; // fails below 10 emails/s
  const workers = s.setup.instances > 1 ? `${s.setup.instances} instances' workers send` : "service's worker sends";
  s.say(`delivery: ${due} outbox rows due; the ${workers} them (DELIVERY_CONCURRENCY=${s.concurrency}) to the sink`);
  const pids: number[] = [];
  const arrival = s.sink.expect(due, { keep: true, timeoutMs, senderPids: () => pids });
  const running = await startDeployment(s.setup, { dir: s.dir, sinkPort: s.sink.port, env: { DELIVERY_CONCURRENCY: String(s.concurrency) }, profileDir: s.profileDir, onSpawn: (p) => pids.push(p) });
  let sent: Rate;
  let sentBy: number[] | undefined;
  try {
    sent = await arrival;
    if (running.metric && running.instances.length > 1) sentBy = await perInstance(running.instances, /^closeloop_emails_sent_total(?:\{[^}]*\})? (\d+)/m);
  } finally {
    await running.stop();
  }
  if (!sent.sample) throw new Error('the sink kept no sample message');
  const message = await asMessage(sent.sample);
  const inFlight = s.concurrency * s.setup.instances;
  s.say(`delivery ceiling: a bare nodemailer pool sends that message ${due} times, ${inFlight} in flight; then again with TCP_NODELAY`);
  const ceiling = await bareSend(s, { message, count: due, concurrency: inFlight, noDelay: false }, timeoutMs);
  const noDelay = await bareSend(s, { message, count: due, concurrency: inFlight, noDelay: true }, timeoutMs);
  return { service: sent, ceiling, noDelay, tokenCheck: message.text.includes(`/r/${sent.tokens[0]}/`), perInstance: sentBy };
}

/**
 * Not timed: more surveys sent, for the rating runs, each POST on a survey nobody rated yet.
 * The same service on the same file, with a wider mail pool (`width` connections and rows at a
 * time) so that this takes seconds rather than minutes; it keeps running for the rating runs.
 * Its rating routes are the same as with any pool.
 */
export async function prepareRatedSurveys(s: Settings & { count: number; width: number; profileDir?: string }): Promise<{ running: Deployment; tokens: string[] }> {
  const due = await makeDue(s.setup.store, s.count);
  s.say(`rating set-up (not timed): ${due} more surveys sent, ${s.width} SMTP connections`);
  const arrival = due ? s.sink.expect(due, { keep: true, timeoutMs: 60_000 + due * 100 }) : Promise.resolve({ tokens: [] as string[] });
  const running = await startDeployment(s.setup, {
    dir: s.dir,
    sinkPort: s.sink.port,
    env: { SMTP_URL: `smtp://127.0.0.1:${s.sink.port}?maxConnections=${s.width}`, DELIVERY_CONCURRENCY: String(s.width) },
    profileDir: s.profileDir,
  });
  try {
    return { running, tokens: (await arrival).tokens };
  } catch (err) {
    await running.stop();
    throw err;
  }
}
