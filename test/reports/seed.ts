import { markFailed, markSent } from '../../src/delivery/repository';
import { endReminder } from '../../src/reminders/repository';
import type { SurveyStatus, TicketClosed } from '../../src/surveys/types';
import type { TestApp } from '../helpers/boot';

/** A small seeded PRNG (mulberry32): the same seed gives the same surveys on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = ReturnType<typeof makeRng>;

export function makeRng(seed: number) {
  const next = mulberry32(seed);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    shuffle<T>(xs: T[]): T[] {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** Twelve agents in three teams; two move between teams and two are renamed along the way. */
export const AGENTS = [
  { id: 'a-01', names: ['Ada Lovelace'], teams: ['billing'] },
  { id: 'a-02', names: ['Grace Hopper', 'Grace B. Hopper'], teams: ['billing'] },
  { id: 'a-03', names: ['Alan Turing'], teams: ['billing'] },
  { id: 'a-04', names: ['Edsger Dijkstra'], teams: ['billing'] },
  { id: 'a-05', names: ['Barbara Liskov'], teams: ['tech'] },
  { id: 'a-06', names: ['Donald Knuth'], teams: ['tech'] },
  { id: 'a-07', names: ['Frances Allen', 'Fran Allen'], teams: ['tech'] },
  { id: 'a-08', names: ['Ken Thompson'], teams: ['tech', 'returns'] },
  { id: 'a-09', names: ['Radia Perlman'], teams: ['returns'] },
  { id: 'a-10', names: ['Margaret Hamilton'], teams: ['returns'] },
  { id: 'a-11', names: ['John Backus'], teams: ['returns'] },
  { id: 'a-12', names: ['Hedy Lamarr'], teams: ['returns', 'billing'] },
] as const;
export const TEAMS = ['billing', 'tech', 'returns'] as const;
export const BRANDS = ['acme', 'globex'] as const;
/** Agents who stay in one team: the only ones whose reported team the tests pin down exactly. */
export const ONE_TEAM_AGENTS = new Set<string>(AGENTS.filter((a) => a.teams.length === 1).map((a) => a.id));

const HOUR = 3_600_000;
const SEED_FROM = Date.parse('2026-01-10T00:00:00Z');
const SEED_DAYS = 120; // to 2026-05-10: spans New York's (03-08) and Berlin's (03-29) spring DST change
/** UTC hours at which a local midnight falls in UTC, Berlin (CET/CEST) or New York (EST/EDT). */
const MIDNIGHTS_UTC = [0, 23 - 24, 22 - 24, 5, 4];
const DST_DAYS = ['2026-03-07', '2026-03-08', '2026-03-09', '2026-03-28', '2026-03-29', '2026-03-30'];

/** A closing instant: uniform, within 90 minutes of some zone's local midnight, or on a DST change. */
function randomClosedAt(rng: Rng): Date {
  const roll = rng.next();
  if (roll < 0.5) return new Date(SEED_FROM + Math.floor(rng.next() * SEED_DAYS * 24 * HOUR));
  if (roll < 0.8) {
    const day = SEED_FROM + rng.int(1, SEED_DAYS - 1) * 24 * HOUR;
    return new Date(day + rng.pick(MIDNIGHTS_UTC) * HOUR + rng.int(-90 * 60_000, 90 * 60_000));
  }
  return new Date(Date.parse(`${rng.pick(DST_DAYS)}T00:00:00Z`) + rng.int(-6 * HOUR, 30 * HOUR));
}

/** What the seed knows of one survey: its final state, kept apart from the database. */
export type SeededSurvey = {
  id: string;
  ticketId: string;
  subject: string;
  closedAt: Date;
  agentId: string | null;
  agentName: string | null;
  team: string | null;
  brand: string | null;
  status: SurveyStatus;
  /** The suppression reason scheduleSurvey answered, for suppressed surveys. */
  reason: string | null;
  score: number | null;
  comment: string | null;
  ratedAt: Date | null;
  /** How many answers changed the survey's score or comment (2+ means a changed rating). */
  answers: number;
  /** A mail scanner swept its links and its page posts were discarded (reports: scanner_discarded). */
  scanned: boolean;
  /** Its follow-up, once a counted rating was low (≤ 2, ALERT_MAX_SCORE's default): when it opened, when a lead first acted, whether it ended recovered. */
  followup: { openedAt: Date; firstActionAt: Date | null; recovered: boolean } | null;
  /** When its first counted rating was given (surveys.first_rated_at). */
  firstRatedAt: Date | null;
  /** When its reminder went out (REMINDER_AFTER_HOURS), if one did. */
  remindedAt: Date | null;
};

/** ALERT_MAX_SCORE's default: a counted rating at or below it opens a follow-up. */
export const LOW_AT_OR_BELOW = 2;

/**
 * Drives the real service code (scheduleSurvey, markSent/markFailed, issueToken, recordRating) and
 * keeps its own plain record of what each survey should now be. The clock moves one second per
 * rating so rated_at values are distinct.
 */
export function createSeeder(t: TestApp, clock: { now(): Date; advance(ms: number): void }, rng: Rng) {
  const surveys = new Map<string, SeededSurvey>(); // by ticket id
  const tokens = new Map<string, string>(); // by survey id
  const usedInstants = new Set<number>();
  let seq = 0;

  function randomTicket(): TicketClosed {
    seq += 1;
    let at = randomClosedAt(rng).getTime();
    while (usedInstants.has(at)) at += 1; // distinct instants: "most recently closed" is never a tie
    usedInstants.add(at);
    const agent = rng.chance(0.08) ? null : rng.pick(AGENTS);
    const agentEmail = agent && `${agent.id}@support.example`;
    const suppressed = agent !== null && rng.chance(0.05);
    return {
      source: 'generic',
      ticketId: `T-${seq}`,
      closedAt: new Date(at),
      customer: { email: suppressed ? agentEmail!.toUpperCase() : `customer${seq}@example.com`, name: `Customer ${seq}` },
      agent: agent ? { id: agent.id, name: rng.pick(agent.names), email: agentEmail! } : undefined,
      team: agent ? rng.pick(agent.teams) : rng.chance(0.5) ? rng.pick(TEAMS) : undefined,
      subject: `Question ${seq}`,
      tags: [],
      brand: rng.chance(0.1) ? undefined : rng.pick(BRANDS),
    };
  }

  async function schedule(ticket: TicketClosed = randomTicket()): Promise<SeededSurvey> {
    const outcome = await t.services.surveys.scheduleSurvey(ticket);
    const s: SeededSurvey = {
      id: outcome.surveyId,
      ticketId: ticket.ticketId,
      subject: ticket.subject!,
      closedAt: ticket.closedAt,
      agentId: ticket.agent?.id ?? null,
      agentName: ticket.agent?.name ?? null,
      team: ticket.team ?? null,
      brand: ticket.brand ?? null,
      status: outcome.status === 'suppressed' ? 'suppressed' : 'scheduled',
      reason: outcome.status === 'suppressed' ? outcome.reason : null,
      score: null,
      comment: null,
      ratedAt: null,
      answers: 0,
      scanned: false,
      followup: null,
      firstRatedAt: null,
      remindedAt: null,
    };
    surveys.set(s.ticketId, s);
    return s;
  }

  async function outboxRow(s: SeededSurvey) {
    const row = await t.db('outbox').where({ survey_id: s.id }).first('id', 'attempts');
    // Leased as the worker's claim would (markSent/markFailed only act on a row their claim owns).
    const leaseUntil = new Date(clock.now().getTime() + 300_000);
    await t.db('outbox').where({ id: row.id }).update({ locked_until: leaseUntil });
    return { id: row.id as number, surveyId: s.id, attempts: row.attempts as number, leaseUntil };
  }

  async function send(s: SeededSurvey) {
    // Every sent survey gets its reminder queued (REMINDER_AFTER_HOURS), as the worker's send does.
    await markSent(t.db, t.services.ledger, await outboxRow(s), clock.now(), 3_600_000);
    s.status = 'sent';
  }

  /** Its reminder goes out, ended by the reminder worker's own call (surveys/state.ts finishReminder under its claim). */
  async function remind(s: SeededSurvey) {
    clock.advance(1000);
    const row = await t.db('reminders').where({ survey_id: s.id }).first('id', 'attempts');
    const leaseUntil = new Date(clock.now().getTime() + 300_000);
    await t.db('reminders').where({ id: row.id }).update({ locked_until: leaseUntil, attempts: row.attempts + 1 });
    await endReminder(t.db, { id: row.id, surveyId: s.id, attempts: row.attempts + 1, leaseUntil }, { status: 'sent' }, clock.now());
    s.remindedAt = clock.now();
  }

  async function fail(s: SeededSurvey) {
    await markFailed(t.db, t.services.ledger, await outboxRow(s), '550 mailbox unavailable', clock.now());
    s.status = 'failed';
  }

  /** Rates through the rating service; the record follows the same rules (latest wins, comments trimmed). */
  async function rate(s: SeededSurvey, input: { score?: number; comment?: string }) {
    const token = await tokenOf(s);
    clock.advance(1000);
    await t.services.ratings.recordRating(token, input);
    const score = input.score ?? s.score;
    const comment = input.comment === undefined ? s.comment : input.comment.trim() || null;
    if (score !== s.score || comment !== s.comment) {
      s.ratedAt = clock.now();
      s.firstRatedAt ??= clock.now();
      s.answers += 1;
      // The follow-up rule (followups/state.ts): a low rating opens one, a good one recovers it, a low one again reopens it.
      const low = score !== null && score <= LOW_AT_OR_BELOW;
      if (low && !s.followup) s.followup = { openedAt: clock.now(), firstActionAt: null, recovered: false };
      else if (s.followup && !low && !s.followup.recovered && (s.score !== null && s.score <= LOW_AT_OR_BELOW)) s.followup.recovered = true;
      else if (s.followup && low && s.followup.recovered) s.followup.recovered = false;
    }
    s.score = score;
    s.comment = comment;
  }

  async function tokenOf(s: SeededSurvey) {
    let token = tokens.get(s.id);
    if (!token) {
      token = await t.services.surveys.issueToken(s.id);
      tokens.set(s.id, token);
    }
    return token;
  }

  /** A scanner opens all five links, each page posts by itself; after the hold the rules discard them all. */
  async function scan(s: SeededSurvey) {
    const token = await tokenOf(s);
    for (const score of [1, 2, 3, 4, 5]) {
      await t.services.ratings.viewScore(token, score);
      await t.services.ratings.holdRating(token, score, { visibleMs: 0, interacted: false });
    }
    clock.advance(t.config.ratingHoldSeconds * 1000 + 1000);
    await t.services.ratings.decidePending();
    s.scanned = true;
  }

  return { surveys, randomTicket, schedule, send, fail, rate, scan, remind };
}

export const SCORE_WEIGHTS = [1, 2, 3, 4, 5, 5, 5, 4, 4, 3, 5, 2];
export const COMMENTS = ['Quick and kind.', '  Took three emails.  ', 'Solved!', '   ', 'Not what I asked for', 'ok'];

/**
 * The accuracy seed: `count` tickets through the real code paths. Most are sent, some fail, some stay
 * scheduled, agents' own tickets are suppressed; a scanner sweeps about 6% of the emails (nothing it
 * posts counts); about 40% of sent surveys are rated, some before
 * markSent commits, some are changed (2 → 5, …), commented or have their comment cleared later.
 */
export async function seedAccuracy(t: TestApp, clock: { now(): Date; advance(ms: number): void }, seed: number, count: number) {
  const rng = makeRng(seed);
  const seeder = createSeeder(t, clock, rng);
  const all: SeededSurvey[] = [];
  for (let i = 0; i < count; i++) all.push(await seeder.schedule());

  const rated: SeededSurvey[] = [];
  for (const s of rng.shuffle(all)) {
    if (s.status === 'suppressed') continue;
    const fate = rng.next();
    // A mail scanner sweeps some sent emails first; some of those customers rate afterwards.
    if (fate < 0.82 && rng.chance(0.06)) await seeder.scan(s);
    const rates = rng.chance(fate < 0.82 ? 0.42 : 0.1);
    const early = rates && rng.chance(0.15); // the customer clicks before the worker marks the row sent
    if (early) await seeder.rate(s, { score: rng.pick(SCORE_WEIGHTS) });
    if (fate < 0.82) await seeder.send(s);
    else if (fate < 0.92) await seeder.fail(s);
    // The reminder goes to about a third of the sent surveys nobody rated yet (the worker skips rated ones); some answer it.
    if (fate < 0.82 && s.score === null && rng.chance(0.35)) await seeder.remind(s);
    if (rates && !early) await seeder.rate(s, { score: rng.pick(SCORE_WEIGHTS), ...(rng.chance(0.2) && { comment: rng.pick(COMMENTS) }) });
    if (rates) rated.push(s);
  }

  for (const s of rng.shuffle(rated)) {
    const roll = rng.next();
    if (roll < 0.2) await seeder.rate(s, { score: s.score! <= 3 ? 5 : 2 }); // 2 → 5, 5 → 2, …
    else if (roll < 0.45) await seeder.rate(s, { comment: rng.pick(COMMENTS) });
    else if (roll < 0.55 && s.comment) await seeder.rate(s, { comment: '' });
    else if (roll < 0.6) await seeder.rate(s, { score: rng.int(1, 5), comment: rng.pick(COMMENTS) });
  }

  // Leads act on about half of the follow-ups, hours after they opened (after every rating, so no link expires meanwhile).
  for (const s of rng.shuffle(all.filter((x) => x.followup))) {
    if (!rng.chance(0.5)) continue;
    clock.advance(rng.int(1, 40 * 60) * 60_000);
    const { id } = await t.db('followups').where({ survey_id: s.id }).first('id');
    await t.services.followups.change(id, { owner: 'lead@support.example', author: 'Lead' });
    s.followup!.firstActionAt = clock.now();
  }
  return all;
}
