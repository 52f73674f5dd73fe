import path from 'node:path';
import { runLoad, type LoadResult, type LoadSpec } from './cannon';
import { SECRETS } from './closeloop';
import { startDeployment, type Setup } from './deployment';
import { nextMessage, startNode, stop } from './processes';
import { cpuDuring, withLoad, type Cpu, type Shares, type Watch } from './usage';

/**
 * A timed run: the load's figures, the target's CPU, each watched process group's CPU (the load
 * generator's too) and, where the service serves /metrics, how many webhooks a write transaction carried.
 */
export type Measured = { load: LoadResult; cpu?: Cpu; shares: Shares; perTransaction?: number };
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
  setup: Setup;
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

/** Where a run's load goes, whose CPU makes the figure, which other processes to watch, and the service's metrics if it serves them. */
type Target = { url: string; pids: number[]; watch: Watch; metric?: (line: RegExp) => Promise<number> };

/** Group commit so far: webhooks written and the write transactions that carried them (closeloop_write_batch_size). */
const batches = (metric: (line: RegExp) => Promise<number>) =>
  Promise.all([metric(/^closeloop_write_batch_size_sum\{[^}]*kind="schedule"[^}]*\} (\d+)/m), metric(/^closeloop_write_batch_size_count\{[^}]*kind="schedule"[^}]*\} (\d+)/m)]);

/** A short untimed run (JIT, caches, the first pages of the table), then the timed one, same settings, with the target's CPU time. */
async function warmThenMeasure(t: Target, s: Settings, target: (run: string) => LoadSpec['target']) {
  const spec = { url: t.url, connections: s.connections };
  const warmup = await runLoad({ ...spec, target: target('warmup'), durationS: s.warmupS });
  const before = t.metric && (await batches(t.metric));
  const { result, cpu, shares } = await cpuDuring(t.pids, () => runLoad({ ...spec, target: target('timed'), durationS: s.durationS }), t.watch);
  const after = t.metric && (await batches(t.metric));
  const perTransaction = before && after ? (after[0] - before[0]) / (after[1] - before[1]) : undefined;
  return { warmup, measured: { load: result, cpu, shares: withLoad(shares, result), perTransaction } };
}

const webhooks = (prefix: string) => (run: string) => ({ kind: 'webhook' as const, secret: SECRETS.webhook, prefix: `${prefix}-${run}` });

/**
 * Ingest: first the ceiling (bare express + one INSERT), then the service on a fresh store (a
 * SQLite file, a PostgreSQL schema; several instances behind the proxy), each loaded by
 * autocannon from its own process with the same connections, duration and bodies. The service runs with a 30-day survey delay so no email is sent while it is measured;
 * the outbox rows it writes are what the delivery phase sends later.
 */
export async function measureIngest(s: Settings): Promise<IngestFigures> {
  const { store } = s.setup;
  const bare = startNode(path.join(__dirname, store.ceiling.script), { env: { PATH: process.env.PATH ?? '', ...store.ceiling.env } });
  let ceiling;
  try {
    const { port } = await nextMessage<{ port: number }>(bare.child, 'ready');
    s.say(`ingest ceiling: ${store.ceiling.describe} (pid ${bare.pid}), ${s.warmupS} s warm-up, ${s.durationS} s timed`);
    const watch: Watch = { ceiling: () => [bare.pid], ...(store.server && { [store.server.name]: store.server.pids }) };
    ceiling = await warmThenMeasure({ url: `http://127.0.0.1:${port}`, pids: [bare.pid], watch }, s, webhooks('C'));
  } finally {
    await stop(bare.child);
  }

  const service = await startDeployment(s.setup, { dir: s.dir, sinkPort: s.sinkPort, env: { SURVEY_DELAY_MINUTES: String(60 * 24 * 30) }, profileDir: s.profileDir });
  try {
    const startBytes = service.memory()?.rssBytes;
    const who = service.proxy ? `${service.pids.length} instances (pids ${service.pids.join(', ')}) behind the round-robin proxy (pid ${service.proxy.pid})` : `the service (pid ${service.pids[0]})`;
    s.say(`ingest: ${who}, same settings`);
    const { warmup, measured } = await warmThenMeasure(service, s, webhooks('T'));
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
