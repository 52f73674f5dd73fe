import path from 'node:path';
import { nextMessage, startNode, type Started } from './processes';
import { cpuOfAll, type Cpu } from './usage';

/** What the sink (sink.ts) reports once the expected messages are in; times on the monotonic clock. */
type Arrival = { count: number; firstUs: number; lastUs: number; tokens: string[]; sample?: string };

/** A sender's figures, clocked at the sink: `fromUs`..`toUs` (first to last arrival) also cuts its CPU profile. */
export type Rate = { count: number; seconds: number; perSecond: number; fromUs: number; toUs: number; cpu?: Cpu; tokens: string[]; sample?: string };

export type Sink = Started & {
  port: number;
  /**
   * Counts the next `count` arrivals afresh (`keep`: collect their rating tokens). With `senderPids`,
   * the senders' CPU time between the first and the last arrival comes with the answer.
   */
  expect: (count: number, o: { keep: boolean; timeoutMs: number; senderPids?: () => number[] }) => Promise<Rate>;
};

/** The SMTP sink in its own process. */
export async function startSink(): Promise<Sink> {
  const started = startNode(path.join(__dirname, 'sink.js'));
  const { port } = await nextMessage<{ port: number }>(started.child, 'ready');
  return {
    ...started,
    port,
    async expect(count, o) {
      let before: Cpu | undefined;
      const onFirst = (m: { type?: string }) => {
        const pids = o.senderPids?.();
        if (m?.type === 'first' && pids?.length) before = cpuOfAll(pids);
      };
      started.child.on('message', onFirst);
      try {
        const arrived = nextMessage<Arrival>(started.child, 'arrived', o.timeoutMs);
        started.child.send({ type: 'expect', count, keep: o.keep });
        const a = await arrived;
        const pids = o.senderPids?.();
        const after = pids?.length ? cpuOfAll(pids) : undefined;
        const seconds = (a.lastUs - a.firstUs) / 1e6;
        const cpu = before && after && { mainMs: after.mainMs - before.mainMs, totalMs: after.totalMs - before.totalMs };
        // Between the first and the last arrival: count - 1 messages, and pool set-up is outside the span.
        return { count: a.count, seconds, perSecond: (a.count - 1) / seconds, fromUs: a.firstUs, toUs: a.lastUs, cpu, tokens: a.tokens, sample: a.sample };
      } finally {
        started.child.off('message', onFirst);
      }
    },
  };
}
