import { ticketPayload, type TestApp } from '../helpers/boot';

/** A survey stored through the signed webhook, plus a real rating token for it. */
export async function surveyWithToken(t: TestApp, overrides: Record<string, unknown> = {}) {
  const res = await t.postWebhook(ticketPayload(overrides));
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(res.body)}`);
  const surveyId: string = res.body.survey_id;
  const token = await t.services.surveys.issueToken(surveyId);
  return { surveyId, token };
}

export const surveyRow = (t: TestApp, id: string) => t.db('surveys').where({ id }).first();

export const ratingEvents = (t: TestApp, surveyId: string) =>
  t.db('rating_events').where({ survey_id: surveyId }).orderBy('id').select('kind', 'score', 'comment');

export const linkEvents = (t: TestApp, surveyId: string) =>
  t.db('link_events').where({ survey_id: surveyId }).orderBy('id').select('kind', 'score');

export const DAY_MS = 86_400_000;
