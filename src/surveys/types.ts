import type { FrozenWording } from './questions';
import type { AgentRef, CreditCandidates, CreditedBy } from './credit';

/** What every helpdesk adapter turns its payload into. */
export type TicketClosed = {
  source: string;
  ticketId: string;
  closedAt: Date;
  customer: { email: string; name?: string };
  /** The credited agent: the generic contract's own `agent`, or (once surveys/credit.ts decided) the rule's choice. */
  agent?: AgentRef;
  /** Who could be credited, as the payload shows them; the survey service applies AGENT_CREDIT to them. */
  candidates?: CreditCandidates;
  /** How `agent` was chosen; set by creditTicket before the survey is stored. */
  creditedBy?: CreditedBy;
  team?: string;
  subject?: string;
  tags: string[];
  locale?: string;
  brand?: string;
  threadMessageId?: string;
};

export type SurveyStatus = 'scheduled' | 'sent' | 'failed' | 'suppressed' | 'cancelled';

export type Survey = {
  id: string;
  source: string;
  ticketId: string;
  customerEmail: string;
  customerName: string | null;
  agentId: string | null;
  agentName: string | null;
  agentEmail: string | null;
  /** How the agent was chosen (README "Agent credit"); null when there is no agent. */
  creditedBy: CreditedBy | null;
  team: string | null;
  subject: string | null;
  tags: string[];
  locale: string | null;
  brand: string | null;
  threadMessageId: string | null;
  closedAt: Date;
  questionId: string;
  variant: string | null;
  /** The exact words the email was sent with; the rating pages use them too. */
  wording: FrozenWording;
  status: SurveyStatus;
  suppressionReason: string | null;
  messageId: string;
  sentAt: Date | null;
  lastError: string | null;
  score: number | null;
  comment: string | null;
  firstRatedAt: Date | null;
  ratedAt: Date | null;
  createdAt: Date;
};

export type ScheduleOutcome =
  | { status: 'scheduled'; surveyId: string }
  | { status: 'duplicate'; surveyId: string }
  | { status: 'suppressed'; surveyId: string; reason: string };
