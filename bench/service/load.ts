/**
 * The load generator, run as a child process so it never shares the event loop of what it
 * measures. It gets one LoadSpec over IPC and answers with one LoadResult; the parent then stops it.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { EXPECTED_STATUS, requestBuilder, type OutgoingRequest } from './requests';
import type { LoadResult, LoadSpec } from './cannon';
import { monotonicUs } from './usage';

type Tally = { latencies: number[]; status: Record<string, number>; errors: number; timeouts: number };

/** As many requests as `connections` keep-alive connections carry (closed loop): the maximum throughput. */
function saturate(spec: LoadSpec, build: (i: number) => OutgoingRequest, tally: Tally): Promise<number> {
  let i = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        ...(spec.amount ? { amount: spec.amount } : { duration: spec.durationS }),
        ...(spec.overallRate && { overallRate: spec.overallRate }),
        requests: [{ setupRequest: (req) => ({ ...req, ...build(i++) }) }],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        for (const [code, { count = 0 } = {}] of Object.entries(result.statusCodeStats ?? {})) tally.status[code] = count;
        tally.errors = result.errors;
        tally.timeouts = result.timeouts;
        resolve(result.duration);
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => tally.latencies.push(responseTime));
  });
}

/**
 * `rate` requests per second, evenly spaced, whatever the answers do (open loop). Latency counts
 * from the moment a request was due, so a slow answer that holds up the next ones shows in them too.
 * (autocannon's overallRate sends each connection's quota for a second back to back and then waits,
 * which measures bursts at full speed rather than a steady rate.)
 */
function pace(spec: LoadSpec & { pacedRate: number }, build: (i: number) => OutgoingRequest, tally: Tally): Promise<number> {
  const { hostname, port } = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const total = spec.amount ?? Math.round(spec.pacedRate * (spec.durationS ?? 10));
  const interval = 1000 / spec.pacedRate;
  const started = performance.now();
  let [sent, done] = [0, 0];
  return new Promise((resolve) => {
    const finish = () => {
      if (++done < total) return;
      agent.destroy();
      resolve((performance.now() - started) / 1000);
    };
    const send = (i: number) => {
      const due = started + i * interval;
      const r = build(i);
      const req = http.request({ agent, hostname, port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body && { 'content-length': Buffer.byteLength(r.body) }) } }, (res) => {
        res.resume();
        res.on('end', () => {
          tally.latencies.push(performance.now() - due);
          tally.status[res.statusCode ?? 0] = (tally.status[res.statusCode ?? 0] ?? 0) + 1;
          finish();
        });
      });
      req.setTimeout(10_000, () => {
        tally.timeouts++;
        req.destroy(); // reported as an error below as well, as autocannon counts timeouts among errors
      });
      req.on('error', () => {
        tally.errors++;
        finish();
      });
      req.end(r.body);
    };
    const tick = () => {
      const dueNow = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      while (sent < dueNow) send(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

/** Nearest rank: the ceil(q·n)-th fastest. */
const percentile = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] : NaN);

async function run(spec: LoadSpec): Promise<LoadResult> {
  const { build, available } = requestBuilder(spec.target);
  if (spec.amount && spec.amount > available) throw new Error(`${spec.amount} requests asked, ${available} distinct ones available`);
  const tally: Tally = { latencies: [], status: {}, errors: 0, timeouts: 0 };
  const startUs = monotonicUs();
  const startCpu = process.cpuUsage();
  const seconds = spec.pacedRate ? await pace({ ...spec, pacedRate: spec.pacedRate }, build, tally) : await saturate(spec, build, tally);
  const endUs = monotonicUs();
  const cpu = process.cpuUsage(startCpu);
  const sorted = Float64Array.from(tally.latencies).sort();
  const ok = tally.status[EXPECTED_STATUS[spec.target.kind]] ?? 0;
  const requests = Object.values(tally.status).reduce((a, b) => a + b, 0);
  return { ok, requests, seconds, perSecond: ok / seconds, answeredPerSecond: requests / seconds, status: tally.status, errors: tally.errors, timeouts: tally.timeouts, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), startUs, endUs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const answer = (message: object) => process.send?.(message);

// One run per process; the parent stops it once it has the answer.
process.on('message', (spec: LoadSpec) => {
  run(spec)
    .then((result) => answer({ type: 'result', result }))
    .catch((err) => answer({ type: 'failed', message: String(err?.stack ?? err) }));
});
