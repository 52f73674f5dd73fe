import fs from 'node:fs';
import { signBody } from '../../src/shared/signature';

/** What the load process sends. Bodies, ticket ids and signatures are made per request, in the load process. */
export type Target =
  /** POST /webhooks/ticket-closed: a new ticket id per request, signed with the service's secret. */
  | { kind: 'webhook'; secret: string; prefix: string }
  /** POST /r/:token with a JSON score: each request rates a different survey (one token per request). */
  | { kind: 'rate'; tokensFile: string }
  /** GET /r/:token/:score, the page the email's links open; tokens are cycled, each always with the same score. */
  | { kind: 'page'; tokensFile: string };

export type OutgoingRequest = { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string };

export const EXPECTED_STATUS: Record<Target['kind'], number> = { webhook: 202, rate: 200, page: 200 };

const AGENTS = 200;
const TEAMS = ['billing', 'shipping', 'accounts', 'technical', 'returns'];

/** A ticket-closed payload like a helpdesk's: a new customer per ticket, one of 200 agents. */
export function ticketBody(ticketId: string, n: number): string {
  const agent = n % AGENTS;
  return JSON.stringify({
    ticket_id: ticketId,
    customer: { email: `customer.${ticketId.toLowerCase()}@example.com`, name: `Customer ${n}` },
    agent: { id: `a-${agent}`, name: `Agent ${agent}`, email: `agent${agent}@support.example` },
    team: TEAMS[agent % TEAMS.length],
    subject: `Refund for order ${100_000 + n}`,
    tags: ['bench'],
    locale: 'en',
  });
}

/** The i-th request of a run. */
export function requestBuilder(target: Target): { build: (i: number) => OutgoingRequest; available: number } {
  if (target.kind === 'webhook') {
    return {
      available: Infinity,
      build(i) {
        const body = ticketBody(`${target.prefix}-${i}`, i);
        const timestamp = String(Math.floor(Date.now() / 1000));
        const headers = { 'content-type': 'application/json', 'x-closeloop-timestamp': timestamp, 'x-closeloop-signature': signBody(target.secret, timestamp, body) };
        return { method: 'POST', path: '/webhooks/ticket-closed', headers, body };
      },
    };
  }
  const tokens = JSON.parse(fs.readFileSync(target.tokensFile, 'utf8')) as string[];
  if (target.kind === 'rate') {
    return {
      available: tokens.length,
      build: (i) => ({ method: 'POST', path: `/r/${tokens[i]}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ score: (i % 5) + 1 }) }),
    };
  }
  return {
    available: tokens.length,
    build(i) {
      const t = i % tokens.length;
      return { method: 'GET', path: `/r/${tokens[t]}/${(t % 5) + 1}`, headers: { accept: 'text/html' } };
    },
  };
}
