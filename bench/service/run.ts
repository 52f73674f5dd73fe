import fs from 'node:fs';
import os from 'node:os';
import { signalAll, stopAll } from './processes';
import type { PgRun } from './postgres';

/** The machine's load averages (1, 5, 15 minutes), as the runs print them. */
export const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Runs a bench's `main` to its end, then stops every process it started, removes `dir` and drops
 * the run's PostgreSQL data (`pg()`, once the services have closed their pools). On Ctrl-C
 * (SIGINT, SIGTERM) the same, then exit 130: at once without PostgreSQL, else once the database is
 * gone. Prints the total time and the load average at the end; a failure sets exit code 1.
 */
export function runBench(o: { name: string; dir: string; pg: () => PgRun | undefined; main: () => Promise<void>; say: (line: string) => void }): void {
  const cleanFiles = () => fs.rmSync(o.dir, { recursive: true, force: true });
  const dropPg = () => o.pg()?.drop().catch((err: Error) => process.stderr.write(`${o.name}: could not drop the PostgreSQL data of this run: ${err?.message ?? err}\n`));
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      interrupted = true;
      signalAll();
      cleanFiles();
      if (!o.pg()) process.exit(130);
      void stopAll()
        .then(dropPg)
        .finally(() => process.exit(130));
    });
  }
  const started = Date.now();
  o.main()
    .then(() => o.say(`\ntotal ${((Date.now() - started) / 1000).toFixed(1)} s; load average at end: ${loadAverage()}`))
    .catch((err) => {
      if (interrupted) return;
      process.stderr.write(`${o.name} failed: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    })
    .finally(() => stopAll().then(cleanFiles).then(dropPg));
}
