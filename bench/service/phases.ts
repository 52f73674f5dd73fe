import path from 'node:path';
import { measureIngest } from './ingest';
import { measureDelivery, prepareRatedSurveys } from './delivery';
import type { Setup } from './deployment';
import type { Figures } from './figures';
import type { Sink } from './mailbox';
import { measureRatings } from './ratings';

export type Settings = {
  dir: string;
  sink: Sink;
  connections: number;
  durationS: number;
  warmupS: number;
  /**
   * The ingest runs' warm-up, longer: after 2 s the service's first timed run was still about 13 %
   * slower than its later ones (the ceiling's was not), which pulled the median round down.
   */
  ingestWarmupS: number;
  /** Timed ingest runs of the ceiling and the service, alternating (ingest.ts). */
  ingestRounds: number;
  emails: number;
  deliveryConcurrency: number;
  ratingRate: number;
  ratingS: number;
  ratingsMax: number;
  prepWidth: number;
  pacer: 'open-loop' | 'autocannon';
  /** Where the service's CPU profiles of each phase go (BENCH_PROFILE=1). */
  profileDir?: string;
  say: (line?: string) => void;
};

/**
 * One setup's figures, phase after phase on a fresh store: ingest beside its ceiling, delivery
 * beside a bare nodemailer pool, then ratings and rating pages on the surveys delivered.
 */
export async function measureSetup(setup: Setup, s: Settings): Promise<Omit<Figures, 'reports'>> {
  const { dir, sink, say } = s;
  // Every POST rates a survey nobody rated yet: a warm-up at the paced rate, the paced run, the run at full speed.
  const ratingsWanted = { warm: Math.round(s.ratingRate * s.warmupS), paced: Math.round(s.ratingRate * s.ratingS), max: s.ratingsMax };
  const ratingsTotal = ratingsWanted.warm + ratingsWanted.paced + ratingsWanted.max;
  const surveysWanted = Math.max(s.emails, ratingsTotal);
  const profile = (phase: string) => s.profileDir && path.join(s.profileDir, phase);
  const ingest = await measureIngest({ setup, dir, sinkPort: sink.port, connections: s.connections, durationS: s.durationS, warmupS: s.ingestWarmupS, rounds: s.ingestRounds, surveysWanted, profileDir: profile('ingest'), say });
  const delivery = await measureDelivery({ setup, dir, sink, emails: Math.min(s.emails, ingest.scheduled), concurrency: s.deliveryConcurrency, profileDir: profile('delivery'), say });

  const more = Math.max(0, ratingsTotal - delivery.service.tokens.length);
  const prepared = await prepareRatedSurveys({ setup, dir, sink, count: more, width: s.prepWidth, profileDir: profile('ratings'), say });
  try {
    const tokens = [...delivery.service.tokens, ...prepared.tokens];
    // Fewer surveys than wanted (a short ingest): both rating runs shrink in proportion.
    const share = Math.min(1, tokens.length / ratingsTotal);
    const warmCount = Math.floor(ratingsWanted.warm * share);
    const pacedCount = Math.floor(ratingsWanted.paced * share);
    const { url, pids, watch } = prepared.running;
    const maxCount = Math.min(ratingsWanted.max, tokens.length - warmCount - pacedCount);
    const ratings = await measureRatings({ dir, url, pids, watch, tokens, rate: s.ratingRate, pacer: s.pacer, warmCount, pacedCount, maxCount, connections: s.connections, durationS: s.durationS, warmupS: s.warmupS, say });
    return { ingest, delivery, ratings, ratingRate: s.ratingRate, pacer: s.pacer };
  } finally {
    await prepared.running.stop();
  }
}
