import path from 'node:path';
import { runLoad, type LoadResult, type LoadSpec } from './cannon';
import { SECRETS, startService } from './closeloop';
import { nextMessage, startNode, stop } from './processes';
import { cpuDuring, type Cpu } from './usage';

export type Measured = { load: LoadResult; cpu?: Cpu };
export type IngestFigures = {
  service: Measured;
  ceiling: Measured;
  /** Untimed runs, only checked for errors. */
  untimed: LoadResult[];
  /** Resident set right after start-up, and the most it held through the timed run (VmHWM). */
  startBytes?: number;
  peakBytes?: number;
  scheduled: number;
};

type Settings = {
  dir: string;
  sinkPort: number;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Surveys the later phases need: after the timed run, untimed webhooks make up any shortfall. */
  surveysWanted: number;
  profileDir?: string;
  say: (line: string) => void;
};

/** A short untimed run (JIT, caches, the first pages of the table), then the timed one, same settings, with the target's CPU time. */
async function warmThenMeasure(pid: number, url: string, s: Settings, target: (run: string) => LoadSpec['target']) {
  const spec = { url, connections: s.connections };
  const warmup = await runLoad({ ...spec, target: target('warmup'), durationS: s.warmupS });
  const { result, cpu } = await cpuDuring(pid, () => runLoad({ ...spec, target: target('timed'), durationS: s.durationS }));
  return { warmup, measured: { load: result, cpu } };
}

const webhooks = (prefix: string) => (run: string) => ({ kind: 'webhook' as const, secret: SECRETS.webhook, prefix: `${prefix}-${run}` });

/**
 * Ingest: first the ceiling (bare express + one INSERT), then the service on a fresh SQLite
 * file, each loaded by autocannon from its own process with the same connections, duration and
 * bodies. The service runs with a 30-day survey delay so no email is sent while it is measured;
 * the outbox rows it writes are what the delivery phase sends later.
 */
export async function measureIngest(s: Settings): Promise<IngestFigures> {
  const bare = startNode(path.join(__dirname, 'ceiling-ingest.js'), { env: { PATH: process.env.PATH ?? '', CEILING_DB: path.join(s.dir, 'ceiling.sqlite') } });
  let ceiling;
  try {
    const { port } = await nextMessage<{ port: number }>(bare.child, 'ready');
    s.say(`ingest ceiling: bare express 5 + one SQLite INSERT (pid ${bare.pid}), ${s.warmupS} s warm-up, ${s.durationS} s timed`);
    ceiling = await warmThenMeasure(bare.pid, `http://127.0.0.1:${port}`, s, webhooks('C'));
  } finally {
    await stop(bare.child);
  }

  const service = await startService({ dir: s.dir, sinkPort: s.sinkPort, env: { SURVEY_DELAY_MINUTES: String(60 * 24 * 30) }, profileDir: s.profileDir });
  try {
    const startBytes = service.memory()?.rssBytes;
    s.say(`ingest: the service (pid ${service.pid}), same settings`);
    const { warmup, measured } = await warmThenMeasure(service.pid, service.url, s, webhooks('T'));
    // VmHWM: the most the process has held since it started, i.e. through start-up, warm-up and the timed run.
    const peakBytes = service.memory()?.peakBytes;
    const untimed = [ceiling.warmup, warmup];
    let scheduled = warmup.ok + measured.load.ok;
    if (scheduled < s.surveysWanted) {
      const amount = s.surveysWanted - scheduled;
      s.say(`ingest, not timed: ${amount} more webhooks, so that the later phases have ${s.surveysWanted} surveys`);
      const extra = await runLoad({ url: service.url, connections: Math.min(s.connections, amount), target: webhooks('T')('extra'), amount });
      untimed.push(extra);
      scheduled += extra.ok;
    }
    return { service: measured, ceiling: ceiling.measured, untimed, startBytes, peakBytes, scheduled };
  } finally {
    await service.stop(); // graceful: its CPU profile, if any, is written now
  }
}
