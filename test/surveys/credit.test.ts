import { chooseAgent, creditOrder, creditTicket, type AgentCredit, type CreditCandidates } from '../../src/surveys/credit';
import type { TicketClosed } from '../../src/surveys/types';

const REPLIER = { id: 'kj', name: 'Katherine Johnson' };
const CLOSER = { id: 'gh', name: 'Grace Hopper' };
const ASSIGNEE = { id: 'al', name: 'Ada Lovelace' };
const ALL: CreditCandidates = { lastReplier: REPLIER, closer: CLOSER, assignee: ASSIGNEE };

const ticket = (fields: Partial<TicketClosed>): TicketClosed => ({
  source: 'test',
  ticketId: 'T-1',
  closedAt: new Date('2026-11-20T10:00:00Z'),
  customer: { email: 'ann@example.com' },
  tags: [],
  ...fields,
});

describe('agent credit: the one rule (surveys/credit.ts)', () => {
  it('when each AGENT_CREDIT value is chosen, then its candidate comes first and the others follow in the default order', () => {
    expect(creditOrder('last_reply')).toEqual(['last_reply', 'closer', 'assignee']);
    expect(creditOrder('closer')).toEqual(['closer', 'last_reply', 'assignee']);
    expect(creditOrder('assignee')).toEqual(['assignee', 'last_reply', 'closer']);
  });

  it('when assignee, closer and last replier are three people, then each AGENT_CREDIT value credits its own', () => {
    expect(chooseAgent(ALL, 'last_reply')).toEqual({ agent: REPLIER, creditedBy: 'last_reply' });
    expect(chooseAgent(ALL, 'closer')).toEqual({ agent: CLOSER, creditedBy: 'closer' });
    expect(chooseAgent(ALL, 'assignee')).toEqual({ agent: ASSIGNEE, creditedBy: 'assignee' });
  });

  it('when the preferred candidate is missing, then the rule falls through to the next one, for every preference', () => {
    const cases: Array<[AgentCredit, CreditCandidates, string, string]> = [
      ['last_reply', { closer: CLOSER, assignee: ASSIGNEE }, 'gh', 'closer'],
      ['last_reply', { assignee: ASSIGNEE }, 'al', 'assignee'],
      ['closer', { lastReplier: REPLIER, assignee: ASSIGNEE }, 'kj', 'last_reply'],
      ['closer', { assignee: ASSIGNEE }, 'al', 'assignee'],
      ['assignee', { lastReplier: REPLIER, closer: CLOSER }, 'kj', 'last_reply'],
      ['assignee', { closer: CLOSER }, 'gh', 'closer'],
    ];
    for (const [preference, candidates, id, how] of cases) {
      const chosen = chooseAgent(candidates, preference);
      expect([preference, chosen?.agent.id, chosen?.creditedBy]).toEqual([preference, id, how]);
    }
  });

  it('when there is nobody to credit, then no agent, whatever the preference (the only no_agent)', () => {
    for (const preference of ['last_reply', 'closer', 'assignee'] as const) expect(chooseAgent({}, preference)).toBeUndefined();
  });

  it('when a ticket carries candidates, then it gets the chosen agent and how; with only its own agent, that agent as "payload"', () => {
    expect(creditTicket(ticket({ candidates: ALL }), 'closer')).toMatchObject({ agent: CLOSER, creditedBy: 'closer' });
    expect(creditTicket(ticket({ candidates: {} }), 'closer')).toMatchObject({ agent: undefined, creditedBy: undefined });
    expect(creditTicket(ticket({ agent: ASSIGNEE }), 'closer')).toMatchObject({ agent: ASSIGNEE, creditedBy: 'payload' });
    expect(creditTicket(ticket({}), 'last_reply')).toMatchObject({ agent: undefined, creditedBy: undefined });
  });
});
