/*
 * What an alert about a low rating says, for every channel: the incoming-webhook message
 * (ALERT_WEBHOOK_URL) and the email to the team's leads. Both carry the same facts; erasure
 * (privacy/) blanks the customer's part of them with erasedAlert.
 */

/** The rating that opened a follow-up, as an alert tells it. */
export type AlertRating = {
  surveyId: string;
  score: number | null;
  agentId: string | null;
  team: string | null;
  about: { ticketId: string; subject: string | null; agentName: string | null; questionId: string; comment: string | null };
};

export const ALERT_EVENT = 'alert.low_rating';

/** The link of a follow-up on the /followups page. */
export const followupLink = (publicUrl: string, followupId: number) => `${publicUrl}/followups#f${followupId}`;

/**
 * An incoming-webhook message: `text` is what Slack, Mattermost and Microsoft Teams incoming
 * webhooks all show (they ignore the other fields); the fields say the same for any other receiver.
 * The lead email shows the same `text`.
 */
export function alertBody(r: AlertRating, followupId: number, publicUrl: string) {
  const link = followupLink(publicUrl, followupId);
  const who = r.about.agentName ?? r.agentId ?? 'no agent';
  const lines = [
    `Low rating ${r.score}/5 for ${who}${r.team ? ` (${r.team})` : ''} on ticket ${r.about.ticketId}${r.about.subject ? `: ${r.about.subject}` : ''}`,
    `Question: ${r.about.questionId}`,
    ...(r.about.comment ? [`Comment: ${r.about.comment}`] : []),
    `Follow-up: ${link}`,
  ];
  return {
    text: lines.join('\n'),
    event: ALERT_EVENT,
    followup_id: followupId,
    survey_id: r.surveyId,
    ticket_id: r.about.ticketId,
    subject: r.about.subject,
    agent: r.agentId ? { id: r.agentId, name: r.about.agentName } : null,
    team: r.team,
    score: r.score,
    question_id: r.about.questionId,
    comment: r.about.comment,
    followup_url: link,
  };
}

export type AlertBody = ReturnType<typeof alertBody>;

/** An alert after its customer's erasure: the score, the agent and the link stay; the ticket's subject and the comment go. */
export function erasedAlert<B extends { score?: unknown; followup_url?: unknown }>(body: B, erasedComment: string): B {
  return {
    ...body,
    subject: null,
    ...('comment' in body && body.comment !== null && { comment: erasedComment }),
    text: `Low rating ${String(body.score)}/5 (the customer's data was erased). Follow-up: ${String(body.followup_url)}`,
  };
}
