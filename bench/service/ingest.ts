import path from 'node:path';
import { runLoad, type LoadResult, type LoadSpec } from './cannon';
import { SECRETS } from './closeloop';
import { startDeployment, type Setup } from './deployment';
import { nextMessage, startNode, stop } from './processes';
import { cpuDuring, withLoad, type Cpu, type Shares, type Watch, type Writes } from './usage';

/**
 * A timed run: the load's figures, the target's CPU and writes, each watched process group's CPU (the load
 * generator's too) and, where the service serves /metrics, how many webhooks a write transaction carried.
 */
export type Measured = { load: LoadResult; cpu?: Cpu; writes?: Writes; shares: Shares; perTransaction?: number };
export type IngestFigures = {
  /** The round whose ratio of service to ceiling is the median: its service and ceiling runs. */
  service: Measured;
  ceiling: Measured;
  /** Every round's rates, in the order run: webhooks accepted per second by the ceiling and by the service. */
  rounds: { ceiling: number; service: number }[];
  /** Untimed runs, only checked for errors. */
  untimed: LoadResult[];
  /** Resident set right after start-up, and the most it held through the timed runs (VmHWM). */
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
  /** Timed runs of the ceiling and of the service, alternating. */
  rounds: number;
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

/** One timed run against `t`, with its CPU time and, where it serves metrics, webhooks per write transaction. */
async function measure(t: Target, s: Settings, target: LoadSpec['target']): Promise<Measured> {
  const before = t.metric && (await batches(t.metric));
  const { result, cpu, writes, shares } = await cpuDuring(t.pids, () => runLoad({ url: t.url, connections: s.connections, target, durationS: s.durationS }), t.watch);
  const after = t.metric && (await batches(t.metric));
  const perTransaction = before && after ? (after[0] - before[0]) / (after[1] - before[1]) : undefined;
  return { load: result, cpu, writes, shares: withLoad(shares, result), perTransaction };
}

const webhooks = (prefix: string) => (run: string) => ({ kind: 'webhook' as const, secret: SECRETS.webhook, prefix: `${prefix}-${run}` });

/**
 * Ingest: the ceiling (bare express + one INSERT) and the service on a fresh store (a SQLite file,
 * a PostgreSQL schema; several instances behind the proxy) run side by side, each loaded by
 * autocannon from its own process with the same connections, duration and bodies: a warm-up of
 * each (JIT, caches, the first pages of the table), then `rounds` timed runs of the ceiling and
 * the service alternating. This VM's speed drifts by a quarter within minutes; a ratio of two runs
 * made back to back, taken as the median of several, drifts much less than one of two runs made
 * minutes apart. The figures are the median round's. The service runs with a 30-day survey delay so
 * no email is sent while it is measured; the outbox rows it writes are what the delivery phase sends later.
 */
export async function measureIngest(s: Settings): Promise<IngestFigures> {
  const { store } = s.setup;
  const bare = startNode(path.join(__dirname, store.ceiling.script), { env: { PATH: process.env.PATH ?? '', ...store.ceiling.env } });
  try {
    const { port } = await nextMessage<{ port: number }>(bare.child, 'ready');
    const watch: Watch = { ceiling: () => [bare.pid], ...(store.server && { [store.server.name]: store.server.pids }) };
    const ceiling: Target = { url: `http://127.0.0.1:${port}`, pids: [bare.pid], watch };
    const service = await startDeployment(s.setup, { dir: s.dir, sinkPort: s.sinkPort, env: { SURVEY_DELAY_MINUTES: String(60 * 24 * 30) }, profileDir: s.profileDir });
    try {
      const startBytes = service.memory()?.rssBytes;
      const who = service.proxy ? `${service.pids.length} instances (pids ${service.pids.join(', ')}) behind the round-robin proxy (pid ${service.proxy.pid})` : `the service (pid ${service.pids[0]})`;
      s.say(`ingest: ${store.ceiling.describe} (pid ${bare.pid}) and ${who}, ${s.warmupS} s warm-up each, then ${s.rounds} × ${s.durationS} s timed of each, alternating`);
      const warm = (t: Target, target: LoadSpec['target']) => runLoad({ url: t.url, connections: s.connections, target, durationS: s.warmupS });
      const untimed = [await warm(ceiling, webhooks('C')('warmup')), await warm(service, webhooks('T')('warmup'))];
      const rounds: { ceiling: Measured; service: Measured }[] = [];
      for (let round = 1; round <= s.rounds; round++) {
        const bareRun = await measure(ceiling, s, webhooks('C')(`timed${round}`));
        rounds.push({ ceiling: bareRun, service: await measure(service, s, webhooks('T')(`timed${round}`)) });
      }
      // VmHWM: the most the process has held since it started, i.e. through start-up, warm-up and the timed runs.
      const peakBytes = service.memory()?.peakBytes;
      const ratio = (r: (typeof rounds)[number]) => r.service.load.perSecond / r.ceiling.load.perSecond;
      const median = [...rounds].sort((a, b) => ratio(a) - ratio(b))[Math.floor(rounds.length / 2)];
      let scheduled = untimed[1].ok + rounds.reduce((sum, r) => sum + r.service.load.ok, 0);
      if (scheduled < s.surveysWanted) {
        const amount = s.surveysWanted - scheduled;
        s.say(`ingest, not timed: ${amount} more webhooks, so that the later phases have ${s.surveysWanted} surveys`);
        const extra = await runLoad({ url: service.url, connections: Math.min(s.connections, amount), target: webhooks('T')('extra'), amount });
        untimed.push(extra);
        scheduled += extra.ok;
      }
      const rates = rounds.map((r) => ({ ceiling: r.ceiling.load.perSecond, service: r.service.load.perSecond }));
      return { service: median.service, ceiling: median.ceiling, rounds: rates, untimed, startBytes, peakBytes, scheduled };
    } finally {
      await service.stop(); // graceful: its CPU profile, if any, is written now
    }
  } finally {
    await stop(bare.child);
  }
}
