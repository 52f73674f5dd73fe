/** The cast of the benchmark data set: agents, teams, brands and what customers write. Seeded, so every run is alike. */

export type Random = ReturnType<typeof makeRandom>;

/** mulberry32: small, fast, and the same sequence for the same seed. */
export function makeRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
}

export const BRANDS = ['acme', 'globex'] as const;
/** Why the suppressed ones got no survey (eligibility.ts). Only `no_agent` surveys lack an agent. */
export const SUPPRESSIONS: ReadonlyArray<[string, number]> = [
  ['throttled', 0.35], ['opted_out', 0.2], ['sampled_out', 0.15], ['internal_domain', 0.1], ['excluded_tag', 0.1], ['customer_is_agent', 0.06], ['no_agent', 0.04],
];
export const LOCALES = ['en', 'de', 'fr', 'es'] as const;
/** Customers' locales: six in ten English. */
export const LOCALE_MIX: ReadonlyArray<(typeof LOCALES)[number]> = ['en', 'en', 'en', 'en', 'en', 'en', 'de', 'de', 'fr', 'es'];
const AREAS = ['billing', 'technical', 'returns', 'accounts', 'onboarding'];
const REGIONS = ['emea', 'amer', 'apac', 'latam', 'nordics'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Margaret', 'John', 'Hedy', 'Linus', 'Sophie', 'Tim', 'Katherine', 'Dennis', 'Anita', 'Niklaus', 'Adele', 'Bjarne', 'Shafi', 'Guido', 'Jean', 'Leslie'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Hamilton', 'Backus', 'Lamarr', 'Torvalds', 'Wilson', 'Berners-Lee', 'Johnson', 'Ritchie', 'Borg', 'Wirth', 'Goldberg'];
export const SUBJECTS = ['Refund for order', 'Cannot log in', 'Invoice is wrong', 'Change my plan', 'Parcel never arrived', 'Reset two-factor', 'Export my data', 'Cancel subscription', 'App crashes on start', 'Update billing address'];
export const COMMENTS = [
  'Quick and friendly, thanks!',
  'Solved on the first reply.',
  'Took three emails to get an answer.',
  'The agent did not read my message, I had to repeat everything.',
  'Great help, "above and beyond".',
  'Fine, but the refund took a week',
  'Very patient with me, thank you.',
  'Problem is still not fixed.',
];

export type Agent = { id: string; name: string; email: string; teams: [string, string]; movesAt: number; skill: number };

/**
 * `count` agents spread evenly over `teams` teams; one in twenty moves to another team at a
 * random moment of the history, so reports have to pick the team of the latest day. `skill`
 * shifts the score distribution so agents differ.
 */
export function makeAgents(count: number, teams: number, random: Random, from: number, to: number): Agent[] {
  const teamNames = Array.from({ length: teams }, (_, i) => `${AREAS[i % AREAS.length]}-${REGIONS[Math.floor(i / AREAS.length) % REGIONS.length]}${i >= 25 ? `-${Math.floor(i / 25) + 1}` : ''}`);
  return Array.from({ length: count }, (_, i) => {
    const id = `agent-${String(i + 1).padStart(4, '0')}`;
    const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i >= FIRST.length * LAST.length ? ` ${Math.floor(i / (FIRST.length * LAST.length)) + 1}` : ''}`;
    const team = teamNames[i % teams];
    const moves = random.next() < 0.05 && teams > 1;
    return {
      id,
      name,
      email: `${id}@support.example`,
      teams: [team, moves ? teamNames[(i + 1) % teams] : team],
      movesAt: moves ? from + random.next() * (to - from) : Infinity,
      skill: (random.next() - 0.5) * 0.16,
    };
  });
}

export function pickWeighted<T>(choices: ReadonlyArray<[T, number]>, random: Random): T {
  let roll = random.next();
  for (const [choice, weight] of choices) {
    if (roll < weight) return choice;
    roll -= weight;
  }
  return choices[choices.length - 1][0];
}

/** Scores skewed to 4 and 5 (about 80 % top-2 box), moved up or down by the agent's skill. */
export function pickScore(skill: number, random: Random): number {
  const weights = [0.04 - skill / 2, 0.05 - skill / 2, 0.09, 0.3, 0.52 + skill];
  let roll = random.next();
  for (let s = 0; s < 4; s++) {
    if (roll < weights[s]) return s + 1;
    roll -= weights[s];
  }
  return 5;
}
