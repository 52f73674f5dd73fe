import fs from 'node:fs';
import path from 'node:path';
import { runLoad, type LoadResult } from './cannon';
import { cpuDuring, type Cpu } from './usage';

export type RatingFigures = { paced: LoadResult; max: LoadResult; maxCpu?: Cpu; page: LoadResult; warmup: LoadResult };

type Settings = { dir: string; url: string; pid: number; tokens: string[]; rate: number; pacer: 'open-loop' | 'autocannon'; pacedCount: number; maxCount: number; connections: number; durationS: number; warmupS: number; say: (line: string) => void };

function tokensFile(dir: string, name: string, tokens: string[]): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(tokens));
  return file;
}

/**
 * Ratings on the running service, through its real routes, each POST on a survey nobody rated
 * yet (the tokens the sink found in the delivered emails): first at a steady `rate` per second,
 * then as fast as `connections` connections go; then GETs of the rating page (the links of the
 * email), which never record a rating. An untimed run of page GETs warms the routes up first.
 */
export async function measureRatings(s: Settings): Promise<RatingFigures> {
  const paced = s.tokens.slice(0, s.pacedCount);
  const max = s.tokens.slice(s.pacedCount, s.pacedCount + s.maxCount);
  const pages = { kind: 'page' as const, tokensFile: tokensFile(s.dir, 'page-tokens', s.tokens) };

  const warmup = await runLoad({ url: s.url, target: pages, connections: s.connections, durationS: s.warmupS });
  s.say(`rating: ${paced.length} POSTs at ${s.rate}/s (${s.pacer === 'autocannon' ? "autocannon's overallRate" : 'open loop, evenly spaced'}), each on a different survey`);
  const rate = s.pacer === 'autocannon' ? { overallRate: s.rate } : { pacedRate: s.rate };
  const pacedRun = await runLoad({ url: s.url, target: { kind: 'rate', tokensFile: tokensFile(s.dir, 'paced-tokens', paced) }, connections: s.connections, amount: paced.length, ...rate });
  s.say(`rating: ${max.length} POSTs as fast as ${s.connections} connections go, each on a different survey`);
  const { result: maxRun, cpu: maxCpu } = await cpuDuring(s.pid, () =>
    runLoad({ url: s.url, target: { kind: 'rate', tokensFile: tokensFile(s.dir, 'max-tokens', max) }, connections: Math.min(s.connections, max.length), amount: max.length }),
  );
  s.say(`rating page: GET /r/:token/:score for ${s.durationS} s over ${s.tokens.length} surveys`);
  const page = await runLoad({ url: s.url, target: pages, connections: s.connections, durationS: s.durationS });
  return { paced: pacedRun, max: maxRun, maxCpu, page, warmup };
}
