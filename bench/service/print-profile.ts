import path from 'node:path';
import { table } from '../lib/timing';
import { profileIn, summarizeProfile, type Share } from './profile';

type Window = { fromUs: number; toUs: number };
export type ProfileWindows = { ingest: Window; delivery: Window; rating: Window };

const ROOT = path.resolve(__dirname, '..', '..'); // dist/: file URLs in the profile point at the compiled code
const percent = (s: Share) => `${(s.share * 100).toFixed(1)} %`;

/**
 * Where the service's CPU went during each timed run, from the --cpu-prof profiles cut to the
 * run's window on the monotonic clock: the top functions by self time, self time by owner, and
 * (for ingest) which of our functions the time was spent under.
 */
export function printProfiles(profileDir: string, windows: ProfileWindows, say: (line?: string) => void) {
  const sections = [
    { name: 'ingest (timed run)', dir: 'ingest', window: windows.ingest, n: 15, ours: true },
    { name: 'delivery (first to last arrival)', dir: 'delivery', window: windows.delivery, n: 10, ours: false },
    { name: 'rating POST (as fast as possible)', dir: 'ratings', window: windows.rating, n: 10, ours: false },
  ];
  for (const s of sections) {
    const file = profileIn(path.join(profileDir, s.dir));
    say();
    if (!file) {
      say(`profile, ${s.name}: no .cpuprofile in ${path.join(profileDir, s.dir)}`);
      continue;
    }
    const p = summarizeProfile(file, { ...s.window, n: s.n, root: ROOT });
    say(`profile, ${s.name}: ${file}`);
    say(`  main thread ${p.busyMs.toFixed(0)} ms busy, ${p.idleMs.toFixed(0)} ms idle ${p.windowed ? 'during the run' : 'over the whole process (no sample fell inside the run)'}; top ${s.n} by self time:`);
    say(table(['function', 'self ms', 'of busy', 'where'], p.top.map((t) => [t.name, t.ms.toFixed(0), percent(t), t.where])));
    say(`  self time by owner: ${p.byOwner.map((x) => `${x.name} ${(x.share * 100).toFixed(0)} %`).join(', ')}`);
    if (!s.ours) continue;
    say(`  the same samples, each charged to the innermost function of src/ on its stack (libraries it called included):`);
    say(table(['function of ours', 'ms', 'of busy', 'where'], p.bySrc.map((t) => [t.name, t.ms.toFixed(0), percent(t), t.where])));
  }
}
