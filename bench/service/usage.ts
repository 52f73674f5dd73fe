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

/**
 * What a process has handed to write calls so far (/proc/<pid>/io `wchar` and `syscw`): its database
 * file and WAL, its log, its sockets. For a database process that is mostly pages: SQLite appends
 * every page a transaction changed to the WAL (and the checkpoint copies it to the file), so a
 * write scattered over many pages shows here long before it shows in a rate.
 */
export type Writes = { bytes: number; calls: number };

function writesOf(pid: number): Writes | undefined {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { bytes: field('wchar'), calls: field('syscw') };
  } catch {
    return undefined;
  }
}

/** The writes of several processes together; unknown if any of them is (/proc/<pid>/io of another user's process is not readable). */
function writesOfAll(pids: number[]): Writes | undefined {
  let all: Writes | undefined = { bytes: 0, calls: 0 };
  for (const w of pids.map(writesOf)) all = all && w && !Number.isNaN(w.bytes) ? { bytes: all.bytes + w.bytes, calls: all.calls + w.calls } : undefined;
  return all;
}

/** Processes watched while a run goes on, by name (the service's instances, the database server, a proxy); looked up before and after it. */
export type Watch = Record<string, () => number[] | Promise<number[]>>;

/** The CPU of several processes together; unknown if any of them is. */
export function cpuOfAll(pids: number[]): Cpu | undefined {
  let all: Cpu | undefined = { mainMs: 0, totalMs: 0 };
  for (const cpu of pids.map(cpuOf)) all = all && cpu && { mainMs: all.mainMs + cpu.mainMs, totalMs: all.totalMs + cpu.totalMs };
  return all;
}

/** Each watched process's CPU milliseconds so far, by group; a process that is gone is left out. */
async function readGroups(watch: Watch): Promise<Map<string, Map<number, number>>> {
  const groups = new Map<string, Map<number, number>>();
  for (const [name, pids] of Object.entries(watch)) {
    const read = (await pids()).map((pid) => [pid, cpuOf(pid)?.totalMs] as const);
    groups.set(name, new Map(read.filter((r): r is readonly [number, number] => r[1] !== undefined)));
  }
  return groups;
}

/** The group cpuDuring adds for every process on the machine (the bench's, the database's and anyone else's). */
export const MACHINE = 'whole machine';

/** CPU milliseconds all cores have spent busy since boot (/proc/stat: everything but idle and iowait). */
function machineBusyMs(): number {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1000) / ticks();
  } catch {
    return NaN;
  }
}

/** CPU milliseconds of each watched group over `seconds` of wall-clock time. */
export type Shares = { seconds: number; ms: Record<string, number> };

/**
 * CPU the process(es) `pid` used while `work` ran, summed, and what they wrote; noise from other work on the machine
 * changes this far less than throughput. With `watch`, also each watched group's milliseconds,
 * and the whole machine's under MACHINE.
 */
export async function cpuDuring<T>(pid: number | number[], work: () => Promise<T>, watch: Watch = {}): Promise<{ result: T; cpu?: Cpu; writes?: Writes; shares: Shares }> {
  const pids = ([] as number[]).concat(pid);
  const [before, writtenBefore, watchedBefore, machineBefore, startMs] = [cpuOfAll(pids), writesOfAll(pids), await readGroups(watch), machineBusyMs(), Date.now()];
  const result = await work();
  const [after, writtenAfter, watchedAfter, machineAfter, endMs] = [cpuOfAll(pids), writesOfAll(pids), await readGroups(watch), machineBusyMs(), Date.now()];
  // A process that started during the run counts from zero; one that ended during it is left out.
  const ms: Record<string, number> = {};
  for (const [name, now] of watchedAfter) ms[name] = [...now].reduce((a, [p, used]) => a + used - (watchedBefore.get(name)?.get(p) ?? 0), 0);
  if (Object.keys(watch).length) ms[MACHINE] = machineAfter - machineBefore;
  const cpu = before && after && { mainMs: after.mainMs - before.mainMs, totalMs: after.totalMs - before.totalMs };
  const writes = writtenBefore && writtenAfter && { bytes: writtenAfter.bytes - writtenBefore.bytes, calls: writtenAfter.calls - writtenBefore.calls };
  return { result, cpu, writes, shares: { seconds: (endMs - startMs) / 1000, ms } };
}

/** The shares with the load generator's own CPU over its run added (it runs in a process of its own per run). */
export const withLoad = (shares: Shares, load: { cpuMs: number }): Shares => ({ ...shares, ms: { ...shares.ms, 'load generator': load.cpuMs } });
