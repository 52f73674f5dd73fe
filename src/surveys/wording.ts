/** The five points of the scale. The words for them live in the survey definitions (config/surveys.yml). */
export const SCORES = [1, 2, 3, 4, 5] as const;
