import path from 'node:path';
import { SECRETS, startService, type Service } from './closeloop';
import { nextMessage, startNode, stop, type Started } from './processes';
import type { Store } from './stores';
import type { Watch } from './usage';

/** What one column of the bench runs: a store and how many instances of the service share it. */
export type Setup = { label: string; store: Store; instances: number };

/** The running instances of a setup, and where the load goes: the one instance, or the proxy in front of several. */
export type Deployment = {
  url: string;
  instances: Service[];
  pids: number[];
  proxy?: Started;
  /** Processes whose CPU is worth reading around a run: each instance, the proxy, the database server. */
  watch: Watch;
  /** Summed over the instances (their /metrics); undefined when they serve none (SQLite, as ever). */
  metric?: (line: RegExp) => Promise<number>;
  /** The largest peak (VmHWM) and resident set of any one instance. */
  memory: () => { peakBytes: number; rssBytes: number } | undefined;
  stop: () => Promise<void>;
};

type Options = { dir: string; sinkPort: number; env?: Record<string, string>; profileDir?: string; onSpawn?: (pid: number) => void };

/**
 * Starts `setup.instances` services on the setup's store at once (on PostgreSQL they take turns
 * at the migrations and then all run their workers, coordinating by leases), and with more than
 * one the round-robin proxy (proxy.ts) in front. Instance i > 1 profiles into `profileDir`-i.
 */
export async function startDeployment(setup: Setup, o: Options): Promise<Deployment> {
  const env = { ...setup.store.env, ...o.env };
  const profileDir = (i: number) => (o.profileDir && i ? `${o.profileDir}-${i + 1}` : o.profileDir);
  const instances = await Promise.all(Array.from({ length: setup.instances }, (_, i) => startService({ ...o, env, profileDir: profileDir(i) })));
  const pids = instances.map((s) => s.pid);
  const watch: Watch = Object.fromEntries(instances.map((s, i) => [instances.length > 1 ? `instance ${i + 1}` : 'service', () => [s.pid]]));
  let proxy: Started | undefined;
  if (instances.length > 1) {
    proxy = startNode(path.join(__dirname, 'proxy.js'), { env: { PATH: process.env.PATH ?? '', PROXY_PORTS: instances.map((s) => new URL(s.url).port).join(',') } });
    const started = proxy;
    watch.proxy = () => [started.pid];
  }
  if (setup.store.server) watch[setup.store.server.name] = setup.store.server.pids;
  const url = proxy ? `http://127.0.0.1:${(await nextMessage<{ port: number }>(proxy.child, 'ready')).port}` : instances[0].url;
  const metric = env.METRICS_TOKEN ? async (line: RegExp) => (await perInstance(instances, line)).reduce((a, b) => a + b, 0) : undefined;
  return {
    url,
    instances,
    pids,
    proxy,
    watch,
    metric,
    memory() {
      const all = instances.map((s) => s.memory());
      const known = all.filter((m) => m !== undefined);
      return known.length < all.length ? undefined : { peakBytes: Math.max(...known.map((m) => m.peakBytes)), rssBytes: Math.max(...known.map((m) => m.rssBytes)) };
    },
    async stop() {
      if (proxy) await stop(proxy.child);
      await Promise.all(instances.map((s) => s.stop()));
    },
  };
}

/** The value of the one /metrics line `line` matches (its number in the first group), instance by instance; NaN where none does. */
export function perInstance(instances: Service[], line: RegExp): Promise<number[]> {
  const read = async (s: Service) => {
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${SECRETS.metrics}` } });
    return Number(line.exec(await res.text())?.[1] ?? NaN);
  };
  return Promise.all(instances.map(read));
}
