import fs from 'node:fs';
import path from 'node:path';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type Share = { name: string; where: string; ms: number; share: number };
export type ProfileSummary = {
  busyMs: number;
  idleMs: number;
  /** False when no sample fell inside the window: then the figures are over the whole process. */
  windowed: boolean;
  /** Functions by self time. */
  top: Share[];
  /** Self time summed by owner: an npm package, an area of src/, node, or V8 ((program), (garbage collector)). */
  byOwner: Share[];
  /** Each sample charged to the innermost function of our own code (src/) on its stack: what our code costs, libraries included. */
  bySrc: Share[];
};

/** The one .cpuprofile node --cpu-prof wrote into `dir` (the service writes it when it exits). */
export function profileIn(dir: string): string | undefined {
  const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  return file && path.join(dir, file);
}

/** node_modules/express/lib/router.js, src/webhooks/routes.js, node:internal/…: short enough for a table. */
function shortUrl(url: string, root: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) return file.slice(modules + '/node_modules/'.length);
  return file.startsWith(root) ? path.relative(root, file) : file;
}

function owner(frame: CallFrame, root: string): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return 'node';
  const where = shortUrl(frame.url, root);
  if (frame.url.includes('/node_modules/')) return where.split('/').slice(0, where.startsWith('@') ? 2 : 1).join('/');
  return where.split('/').slice(0, 2).join('/');
}

const isOurs = (frame: CallFrame, root: string) => !frame.url.includes('/node_modules/') && shortUrl(frame.url, root).startsWith('src/');

/**
 * Self time per function, per owner, and per nearest function of ours, from the samples taken
 * between `fromUs` and `toUs` on the monotonic clock, i.e. during one load run. Idle time is
 * reported apart; shares are of busy time.
 */
export function summarizeProfile(file: string, o: { fromUs: number; toUs: number; n: number; root: string }): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (f: CallFrame) => ({ name: f.functionName || '(anonymous)', where: f.url ? `${shortUrl(f.url, o.root)}:${f.lineNumber + 1}` : '' });
  const nearestOurs = (id: number): CallFrame | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nodes.get(at)?.callFrame;
      if (frame && isOurs(frame, o.root)) return frame;
    }
    return undefined;
  };

  const self = new Map<string, Share>();
  const byOwner = new Map<string, Share>();
  const bySrc = new Map<string, Share>();
  const add = (into: Map<string, Share>, key: string, make: () => Omit<Share, 'ms' | 'share'>, us: number) => {
    const entry = into.get(key) ?? { ...make(), ms: 0, share: 0 };
    entry.ms += us / 1000;
    into.set(key, entry);
  };
  let [t, idleUs, busyUs] = [profile.startTime, 0, 0];
  let windowed = true;
  for (const inWindow of [(x: number) => x >= o.fromUs && x <= o.toUs, () => true]) {
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i];
      const us = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
      const frame = nodes.get(profile.samples[i])?.callFrame;
      if (!frame || !inWindow(t)) continue;
      if (frame.functionName === '(idle)') {
        idleUs += us;
        continue;
      }
      busyUs += us;
      add(self, `${frame.functionName}\0${frame.url}\0${frame.lineNumber}`, () => label(frame), us);
      add(byOwner, owner(frame, o.root), () => ({ name: owner(frame, o.root), where: '' }), us);
      const ours = nearestOurs(profile.samples[i]);
      const outside = `(no src/ frame: ${owner(frame, o.root)})`;
      add(bySrc, ours ? `${ours.functionName}\0${ours.url}\0${ours.lineNumber}` : outside, () => (ours ? label(ours) : { name: outside, where: '' }), us);
    }
    if (busyUs + idleUs > 0) break;
    [t, windowed] = [profile.startTime, false];
  }
  const ranked = (m: Map<string, Share>, n: number) =>
    [...m.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n)
      .map((s) => ({ ...s, share: busyUs ? (s.ms * 1000) / busyUs : 0 }));
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, windowed, top: ranked(self, o.n), byOwner: ranked(byOwner, 10), bySrc: ranked(bySrc, o.n) };
}
