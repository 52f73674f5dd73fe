import { signBody } from '../../src/shared/signature';
import { makeAgents, makeRandom, pickScore, pickWeighted, BRANDS, COMMENTS, LOCALE_MIX, SUBJECTS } from '../lib/people';

/**
 * Traffic shaped like a helpdesk's and its customers', for bench/sizes.ts: closed tickets over
 * `days` days from `agents` agents in `teams` teams and two brands (60/40), customers who come back
 * (a few often, most once or twice), some tickets tagged no-survey; then a share of the delivered
 * surveys rated the way a browser does it (the link's GET, the page's own POST) and a share of
 * those commented. Seeded: the same settings give the same requests.
 */
export type Mix = { surveys: number; agents: number; teams: number; customers: number; days: number; rated: number; commented: number; excluded: number; connections: number; seed: number };

/** HTTP statuses and how often each came back. */
export type Statuses = Record<string, number>;

/** Runs `task(0..count-1)`, `width` at a time; counts the statuses they answer. */
async function inParallel(count: number, width: number, task: (i: number) => Promise<number>): Promise<Statuses> {
  const statuses: Statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const status = await task(next++);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
  return statuses;
}

async function send(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * The mix's ticket-closed bodies, closing times rising evenly over the `days` days before `now`, and
 * how many of them get a survey: all but the no-survey ones, on the service's defaults (no throttle,
 * no sampling, no internal domains, and no customer is an agent or has opted out).
 */
export function closedTickets(mix: Mix, now: number): { bodies: string[]; surveyed: number } {
  const random = makeRandom(mix.seed);
  const from = now - mix.days * 86_400_000;
  const agents = makeAgents(mix.agents, mix.teams, random, from, now);
  let surveyed = 0;
  const bodies = Array.from({ length: mix.surveys }, (_, i) => {
    const closedAt = from + ((i + 1) * (now - from)) / mix.surveys;
    const agent = random.pick(agents);
    // Squaring skews towards low numbers: some customers write often, most rarely.
    const customer = Math.floor(mix.customers * random.next() ** 2);
    const ticketId = `T-${1_000_000 + i}`;
    const excluded = random.next() < mix.excluded;
    if (!excluded) surveyed++;
    return JSON.stringify({
      ticket_id: ticketId,
      closed_at: new Date(closedAt).toISOString(),
      customer: { email: `customer.${customer}@mail.example`, name: `Customer ${customer}` },
      agent: { id: agent.id, name: agent.name, email: agent.email },
      team: closedAt < agent.movesAt ? agent.teams[0] : agent.teams[1],
      subject: `${random.pick(SUBJECTS)} ${100_000 + i}`,
      tags: excluded ? ['email', 'no-survey'] : ['email', random.pick(['billing', 'shipping', 'account'])],
      locale: random.pick(LOCALE_MIX),
      brand: pickWeighted([[BRANDS[0], 0.6], [BRANDS[1], 0.4]], random),
      ...(random.next() < 0.5 && { thread_message_id: `<${ticketId.toLowerCase()}.${i}@helpdesk.example>` }),
    });
  });
  return { bodies, surveyed };
}

/** Each body, signed as a helpdesk signs it, through POST /webhooks/ticket-closed, `connections` at a time. */
export function sendTickets(url: string, secret: string, bodies: readonly string[], connections: number): Promise<Statuses> {
  return inParallel(bodies.length, connections, (i) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/json', 'x-closeloop-timestamp': timestamp, 'x-closeloop-signature': signBody(secret, timestamp, bodies[i]) };
    return send(`${url}/webhooks/ticket-closed`, { method: 'POST', headers, body: bodies[i] });
  });
}

export type Rating = { token: string; score: number; comment?: string };

/** Which of the delivered surveys get rated, with what score, and which of those get a comment. */
export function chooseRatings(tokens: readonly string[], mix: Mix): Rating[] {
  const random = makeRandom(mix.seed + 1);
  return tokens.flatMap((token) => {
    if (random.next() >= mix.rated) return [];
    const score = pickScore(0, random);
    return [{ token, score, ...(random.next() < mix.commented && { comment: random.pick(COMMENTS) }) }];
  });
}

/**
 * As a customer's browser: the email's link for the score (GET, a `view`), then the page posts that
 * score by itself (it waits RATING_HOLD_SECONDS as `pending` before it counts). Answers the POSTs' statuses.
 */
export async function clickAndRate(url: string, ratings: readonly Rating[], connections: number): Promise<{ pages: Statuses; posts: Statuses }> {
  const pages: Statuses = {};
  const posts = await inParallel(ratings.length, connections, async (i) => {
    const { token, score } = ratings[i];
    const page = await send(`${url}/r/${token}/${score}`, { headers: { accept: 'text/html' } });
    pages[page] = (pages[page] ?? 0) + 1;
    return send(`${url}/r/${token}`, json({ score, page: { visible_ms: 1200 + 100 * (i % 40), interacted: false } }));
  });
  return { pages, posts };
}

/** The thank-you page's comment form, on the ratings that carry a comment. */
export function addComments(url: string, ratings: readonly Rating[], connections: number): Promise<Statuses> {
  const commented = ratings.filter((r) => r.comment !== undefined);
  return inParallel(commented.length, connections, (i) => send(`${url}/r/${commented[i].token}`, json({ comment: commented[i].comment })));
}
