import crypto from 'node:crypto';
import type { Brand, SurveyDefinitions, Wording } from './definitions';

/** The exact words a survey was sent with, frozen on the survey row. */
export type FrozenWording = Wording & { locale: string };

export type QuestionChoice = { questionId: string; variant: string | null; wording: FrozenWording };

type TicketFacts = { ticketId: string; brand?: string | null; team?: string | null; tags: string[]; locale?: string | null };

/** First rule whose every condition matches wins (tags: any of them); otherwise the default question. */
export function chooseQuestionId(defs: SurveyDefinitions, t: Omit<TicketFacts, 'ticketId' | 'locale'>): string {
  const rule = defs.rules.find(
    (r) =>
      (r.brand === undefined || r.brand === t.brand) &&
      (r.team === undefined || r.team === t.team) &&
      (r.tags === undefined || r.tags.some((tag) => t.tags.includes(tag))),
  );
  return rule?.question ?? defs.default;
}

/**
 * A ticket's variant, from a hash of its id: the same ticket gets the same variant on every
 * retry and every instance, and ids spread over the variants in proportion to their weights.
 */
export function chooseVariant(variants: Array<{ id: string; weight: number }> | undefined, questionId: string, ticketId: string): string | null {
  if (!variants?.length) return null;
  const hash = crypto.createHash('sha256').update(`${questionId}\u0000${ticketId}`).digest();
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let point = (hash.readUInt32BE(0) / 2 ** 32) * total;
  for (const v of variants) {
    if (point < v.weight) return v.id;
    point -= v.weight;
  }
  return variants[variants.length - 1].id;
}

/** "de-AT" → de-AT if defined, else de, else en. Accepts de_at, DE and similar spellings. */
export function resolveLocale(available: string[], requested?: string | null): string {
  if (requested) {
    const [lang, region] = requested.trim().split(/[-_]/);
    const candidates = [region ? `${lang.toLowerCase()}-${region.toUpperCase()}` : '', lang.toLowerCase()];
    const hit = candidates.find((c) => c && available.includes(c));
    if (hit) return hit;
  }
  return 'en';
}

export function findQuestion(defs: SurveyDefinitions, questionId: string) {
  return defs.questions.find((q) => q.id === questionId);
}

/** The wording of a question (and variant) in a locale, with the variant's overrides applied. */
export function wordingFor(defs: SurveyDefinitions, questionId: string, variant: string | null, requestedLocale?: string | null): FrozenWording {
  const question = findQuestion(defs, questionId);
  if (!question) throw new Error(`unknown question ${questionId}`);
  const locale = resolveLocale(Object.keys(question.locales), requestedLocale);
  const overrides = question.variants?.find((v) => v.id === variant)?.locales?.[locale] ?? {};
  const base = question.locales[locale];
  return { ...base, ...overrides, labels: { ...base.labels, ...overrides.labels }, locale };
}

/** Everything decided about a ticket's question when its survey is created. */
export function chooseQuestion(defs: SurveyDefinitions, t: TicketFacts): QuestionChoice {
  const questionId = chooseQuestionId(defs, t);
  const variant = chooseVariant(findQuestion(defs, questionId)?.variants, questionId, t.ticketId);
  return { questionId, variant, wording: wordingFor(defs, questionId, variant, t.locale) };
}

export const brandFor = (defs: SurveyDefinitions, brand: string | null | undefined): Brand => (brand && defs.brands[brand]) || {};
