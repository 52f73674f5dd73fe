import type { Views } from '../shared/views';
import type { Brand, SurveyDefinitions } from '../surveys/definitions';
import { brandFor } from '../surveys/questions';
import type { OutgoingMail } from './mailer';
import type { Survey } from '../surveys/types';
import { SCORES } from '../surveys/wording';
import { emailText } from '../surveys/page-text';

export type RenderedSurvey = { subject: string; html: string; text: string };

type EmailInput = Pick<Survey, 'wording' | 'brand' | 'customerName' | 'subject'>;

const DEFAULT_ACCENT = '#1f4fbf';

/** The survey email (or its reminder) in the survey's frozen wording and its brand's colours: five one-click links, HTML and text. */
export function renderSurveyEmail(
  views: Views,
  survey: EmailInput,
  token: string,
  publicUrl: string,
  brand: Brand = {},
  unsubscribeUrl = `${publicUrl}/u/PREVIEW`,
  reminder = false,
): RenderedSurvey {
  const { wording } = survey;
  const base = `${publicUrl}/r/${token}`;
  const context = {
    lang: wording.locale,
    subject: wording.subject,
    intro: wording.intro,
    question: wording.question,
    oneClick: wording.one_click,
    customerName: survey.customerName,
    ticketSubject: survey.subject,
    links: SCORES.map((score) => ({ score, label: wording.labels[score], url: `${base}/${score}` })),
    decoyUrl: `${base}/check`,
    unsubscribeUrl,
    unsubscribeText: emailText(wording.locale).unsubscribe,
    // The reminder (REMINDER_AFTER_HOURS) is the same email with one line before it, in the survey's language.
    reminder: reminder ? emailText(wording.locale).reminder : null,
    greeting: survey.customerName ? emailText(wording.locale).greeting(survey.customerName) : null,
    accent: brand.accent_color ?? DEFAULT_ACCENT,
    logoUrl: brand.logo_url,
    logoAlt: brand.sender_name ?? survey.brand ?? '',
  };
  return { subject: wording.subject, html: views.email('survey.html', context), text: views.email('survey.text', context) };
}

/** The From of a brand's surveys: its sender name and address where set, MAIL_FROM for the rest. */
export function senderFor(brand: Brand, mailFrom: string): string {
  if (!brand.sender_name && !brand.sender_address) return mailFrom;
  const address = brand.sender_address ?? /<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom.trim();
  const name = (brand.sender_name ?? /^\s*"?([^"<]*?)"?\s*</.exec(mailFrom)?.[1] ?? '').replace(/["\\\r\n]/g, '');
  return name ? `"${name}" <${address}>` : address;
}

/** The reminder's Message-ID: the survey's with `reminder.` for `survey.`, stable across re-sends and holding the survey id (erasure finds its .eml file by it). */
export const reminderMessageId = (surveyMessageId: string) => surveyMessageId.replace(/^<survey\./, '<reminder.');

/**
 * A survey's email, ready for the mailer: the first one (threaded under the helpdesk's thread
 * when the webhook named one), or its reminder (REMINDER_AFTER_HOURS: threaded under the first,
 * which it names in In-Reply-To and References). `token` and `unsubscribeToken` are this email's own.
 */
export function composeSurveyMail(
  views: Views,
  site: { publicUrl: string; mailFrom: string; definitions: SurveyDefinitions },
  parts: { survey: Survey; token: string; unsubscribeToken: string },
  kind: 'first' | 'reminder' = 'first',
): OutgoingMail {
  const { survey } = parts;
  const unsubscribeUrl = `${site.publicUrl}/u/${parts.unsubscribeToken}`;
  const brand = brandFor(site.definitions, survey.brand);
  const email = renderSurveyEmail(views, survey, parts.token, site.publicUrl, brand, unsubscribeUrl, kind === 'reminder');
  const thread =
    kind === 'first'
      ? { messageId: survey.messageId, inReplyTo: survey.threadMessageId ?? undefined }
      : { messageId: reminderMessageId(survey.messageId), inReplyTo: survey.messageId, references: [...(survey.threadMessageId ? [survey.threadMessageId] : []), survey.messageId] };
  return {
    to: survey.customerName ? `"${survey.customerName.replace(/["\\]/g, '')}" <${survey.customerEmail}>` : survey.customerEmail,
    from: senderFor(brand, site.mailFrom),
    subject: email.subject,
    html: email.html,
    text: email.text,
    ...thread,
    unsubscribeUrl,
  };
}
