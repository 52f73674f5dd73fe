import type { Views } from '../shared/views';
import type { Survey } from '../surveys/types';
import { SCORES, wording } from '../surveys/wording';

export type RenderedSurvey = { subject: string; html: string; text: string };

/** The survey email: the question and five one-click links, in HTML and plain text. */
export function renderSurveyEmail(views: Views, survey: Survey, token: string, publicUrl: string): RenderedSurvey {
  const base = `${publicUrl}/r/${token}`;
  const context = {
    subject: wording.subject,
    intro: wording.intro,
    question: wording.question,
    oneClick: wording.oneClick,
    customerName: survey.customerName,
    ticketSubject: survey.subject,
    links: SCORES.map((score) => ({ score, label: wording.labels[score], url: `${base}/${score}` })),
    decoyUrl: `${base}/check`,
  };
  return { subject: wording.subject, html: views.email('survey.html', context), text: views.email('survey.text', context) };
}
