import { spawn } from 'node:child_process';
import path from 'node:path';
import { track } from './processes';

export type ReportsFigure = { surveys: number; reportP95: number; rawP95: number; seconds: number };

/**
 * Runs the reports benchmark (dist/bench/reports.js, `npm run bench:reports`) as it is, at a
 * small scale, and reads two rows of its table: the 3-year agents report and the raw GROUP BY
 * over the same window, both p95 in milliseconds.
 */
export async function runReportsBench(surveys: number, runs: number): Promise<ReportsFigure> {
  const started = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_SURVEYS: String(surveys), BENCH_RUNS: String(runs), BENCH_RAW_BUDGET_S: '20' };
  delete env.BENCH_REBUILD; // minutes, and not this figure
  const child = track(spawn(process.execPath, [path.join(__dirname, '..', 'reports.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench/reports exited with ${code}:\n${output}`);
  const p95 = (caseName: string) => {
    const row = output.split('\n').find((line) => line.startsWith(`| ${caseName} `));
    const cells = row?.split('|').map((c) => c.trim());
    const value = Number(cells?.[3]);
    if (!cells || !Number.isFinite(value)) throw new Error(`bench/reports printed no "${caseName}" row:\n${output}`);
    return value;
  };
  return { surveys, reportP95: p95('agents report, 3 years (rollup)'), rawP95: p95('raw GROUP BY over surveys, 3 years'), seconds: (Date.now() - started) / 1000 };
}
