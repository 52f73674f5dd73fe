import { AppError } from '../shared/errors';
import type { Views } from '../shared/views';
import type { SurveyDefinitions } from '../surveys/definitions';
import { brandFor, findQuestion, wordingFor } from '../surveys/questions';
import { renderSurveyEmail, senderFor } from './render';

/** A token-shaped placeholder: preview links lead nowhere. */
const DUMMY_TOKEN = 'PREVIEW-PREVIEW-PREVIEW-PREVIEW-PREVIEW-PREV';

/** The email of `questionId` exactly as a customer would get it, with dummy links; 404 for an unknown question, 400 for an unknown variant. */
export function previewEmail(
  deps: { definitions: SurveyDefinitions; views: Views; publicUrl: string; mailFrom: string },
  questionId: string,
  { locale, brand, variant }: { locale?: string; brand?: string; variant?: string },
) {
  const question = findQuestion(deps.definitions, questionId);
  if (!question) throw new AppError(404, 'not_found', 'No question with this id in the survey definitions.');
  const variants = question.variants?.map((v) => v.id) ?? [];
  if (variant !== undefined && !variants.includes(variant)) {
    throw new AppError(400, 'invalid_query', `This question has ${variants.length ? `variants ${variants.join(', ')}` : 'no variants'}.`, [{ path: 'variant', message: 'is not a variant of this question' }]);
  }
  const wording = wordingFor(deps.definitions, question.id, variant ?? variants[0] ?? null, locale);
  const brandStyle = brandFor(deps.definitions, brand);
  const survey = { wording, brand: brand ?? null, customerName: 'Ann Example', subject: 'Refund for order 42' };
  const email = renderSurveyEmail(deps.views, survey, DUMMY_TOKEN, deps.publicUrl, brandStyle);
  return { question_id: question.id, variant: variant ?? variants[0] ?? null, locale: wording.locale, from: senderFor(brandStyle, deps.mailFrom), ...email };
}
