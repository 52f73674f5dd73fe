import type { FrozenWording } from './questions';

/** What every helpdesk adapter turns its payload into. */
export type TicketClosed = {
  source: string;
  ticketId: string;
  closedAt: Date;
  customer: { email: string; name?: string };
  agent?: { id: string; name?: string; email?: string };
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
