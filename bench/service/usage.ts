import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/* What a process of the bench uses, read from /proc (Linux), and the clock its CPU profile uses. */

/** Peak (VmHWM) and current resident set of a live process, in bytes, from /proc (Linux). */
export function memoryOf(pid: number): { peakBytes: number; rssBytes: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const bytes = (field: string) => 1024 * Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakBytes: bytes('VmHWM'), rssBytes: bytes('VmRSS') };
  } catch {
    return undefined;
  }
}

/** Microseconds on the system's monotonic clock: the clock V8 stamps CPU profile samples with. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export type Cpu = { mainMs: number; totalMs: number };

let ticksPerSecond: number | undefined;
const ticks = () => {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    ticksPerSecond = 100;
  }
  return ticksPerSecond;
};

/** CPU time (user + system) a process has used: its main thread (the event loop) and all its threads. */
export function cpuOf(pid: number): Cpu | undefined {
  const ms = (file: string) => {
    // Fields after "(comm)" (which may itself hold ") "): state is the 3rd field of the line, utime the 14th, stime the 15th.
    const line = fs.readFileSync(file, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks();
  };
  try {
    return { mainMs: ms(`/proc/${pid}/task/${pid}/stat`), totalMs: ms(`/proc/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

/** CPU a process used while `work` ran; noise from other work on the machine changes this far less than throughput. */
export async function cpuDuring<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpu?: Cpu }> {
  const before = cpuOf(pid);
  const result = await work();
  const after = cpuOf(pid);
  return { result, cpu: before && after && { mainMs: after.mainMs - before.mainMs, totalMs: after.totalMs - before.totalMs } };
}
