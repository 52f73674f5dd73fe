import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';

/**
 * Every process the bench starts is a child of its own (own event loop, own CPU time): the
 * service, the ceilings, the SMTP sink and the load generator. They are tracked here so that
 * a failure or Ctrl-C never leaves one running.
 */
const children = new Set<ChildProcess>();

export type Started = { child: ChildProcess; pid: number };

/**
 * Runs `node [nodeArgs] script` with an IPC channel. Its stdout and stderr go to the bench's
 * stderr, so the service's warnings stay visible without mixing into the printed table.
 */
export function startNode(script: string, o: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Started {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), script], {
    env: o.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.pipe(process.stderr);
  child.stderr?.pipe(process.stderr);
  track(child);
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  return { child, pid: child.pid };
}

/** Stopped with the bench (see stopAll, signalAll). */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The next IPC message of `type` (or of one of the types) from the child; fails if the child exits first or time runs out. */
export function nextMessage<T>(child: ChildProcess, type: string | string[], timeoutMs = 60_000): Promise<T> {
  const types = ([] as string[]).concat(type);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('disconnect', onGone);
    };
    const fail = (message: string) => {
      done();
      reject(new Error(message));
    };
    const onMessage = (m: { type?: string }) => {
      if (!types.includes(m?.type as string)) return;
      done();
      resolve(m as T);
    };
    // 'disconnect' comes after every message the child sent has been read; 'exit' may come before.
    const onGone = () => fail(`child ${child.pid} went away (${child.signalCode ?? child.exitCode ?? 'channel closed'}) before sending "${types.join('" or "')}"`);
    const timer = setTimeout(() => fail(`no "${types.join('" or "')}" from child ${child.pid} within ${timeoutMs / 1000} s`), timeoutMs);
    child.on('message', onMessage);
    child.once('disconnect', onGone);
  });
}

/** Sends `signal`, waits for the exit (a graceful shutdown writes its CPU profile), SIGKILL after `graceMs`. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

export const stopAll = () => Promise.all([...children].map((c) => stop(c)));

/**
 * On Ctrl-C the bench exits at once; each child gets SIGTERM and cleans up after itself (the
 * reports bench removes its data set, the service shuts down within its own 15 s bound).
 */
export const signalAll = () => children.forEach((c) => c.kill('SIGTERM'));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 (the service's /readyz: database up, migrations applied). */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode} before it was ready`);
    const status = await new Promise<number>((resolve) =>
      http.get(url, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', () => resolve(0)),
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s`);
}
