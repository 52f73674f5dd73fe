import fs from 'node:fs';
import path from 'node:path';
import { runLoad, type LoadResult } from './cannon';
import { cpuDuring, withLoad, type Cpu, type Shares, type Watch } from './usage';

/** `maxShares`: the CPU of each watched process group (and the load generator) during the run at full speed. */
export type RatingFigures = { paced: LoadResult; max: LoadResult; maxCpu?: Cpu; maxShares: Shares; page: LoadResult; warmup: LoadResult; postWarmup: LoadResult };

type Settings = { dir: string; url: string; pids: number[]; watch: Watch; tokens: string[]; rate: number; pacer: 'open-loop' | 'autocannon'; warmCount: number; pacedCount: number; maxCount: number; connections: number; durationS: number; warmupS: number; say: (line: string) => void };

function tokensFile(dir: string, name: string, tokens: string[]): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(tokens));
  return file;
}

/**
 * Ratings on the running service, through its real routes, each POST on a survey nobody rated
 * yet (the tokens the sink found in the delivered emails): an untimed warm-up and then a timed
 * run at a steady `rate` per second, then as fast as `connections` connections go; then GETs of
 * the rating page (the links of the email), which never record a rating. An untimed run of page
 * GETs warms the routes up first.
 */
export async function measureRatings(s: Settings): Promise<RatingFigures> {
  const warm = s.tokens.slice(0, s.warmCount);
  const paced = s.tokens.slice(s.warmCount, s.warmCount + s.pacedCount);
  const max = s.tokens.slice(s.warmCount + s.pacedCount, s.warmCount + s.pacedCount + s.maxCount);
  const pages = { kind: 'page' as const, tokensFile: tokensFile(s.dir, 'page-tokens', s.tokens) };

  const warmup = await runLoad({ url: s.url, target: pages, connections: s.connections, durationS: s.warmupS });
  const rate = s.pacer === 'autocannon' ? { overallRate: s.rate } : { pacedRate: s.rate };
  // A running service has rated before: JIT-compiled code and prepared statements for the POST path.
  s.say(`rating, not timed: ${warm.length} POSTs at ${s.rate}/s to warm the POST path up`);
  const postWarmup = await runLoad({ url: s.url, target: { kind: 'rate', tokensFile: tokensFile(s.dir, 'warm-tokens', warm) }, connections: s.connections, amount: warm.length, ...rate });
  s.say(`rating: ${paced.length} POSTs at ${s.rate}/s (${s.pacer === 'autocannon' ? "autocannon's overallRate" : 'open loop, evenly spaced'}), each on a different survey`);
  const pacedRun = await runLoad({ url: s.url, target: { kind: 'rate', tokensFile: tokensFile(s.dir, 'paced-tokens', paced) }, connections: s.connections, amount: paced.length, ...rate });
  s.say(`rating: ${max.length} POSTs as fast as ${s.connections} connections go, each on a different survey`);
  const { result: maxRun, cpu: maxCpu, shares } = await cpuDuring(
    s.pids,
    () => runLoad({ url: s.url, target: { kind: 'rate', tokensFile: tokensFile(s.dir, 'max-tokens', max) }, connections: Math.min(s.connections, max.length), amount: max.length }),
    s.watch,
  );
  s.say(`rating page: GET /r/:token/:score for ${s.durationS} s over ${s.tokens.length} surveys`);
  const page = await runLoad({ url: s.url, target: pages, connections: s.connections, durationS: s.durationS });
  return { paced: pacedRun, max: maxRun, maxCpu, maxShares: withLoad(shares, maxRun), page, warmup, postWarmup };
}
