import type { SurveyService } from '../surveys/service';
import type { RatingService } from '../ratings/service';

export type ApiService = ReturnType<typeof createApiService>;

/** The operators' view of surveys: each survey with its delivery, beside what ratings/ recorded of it. */
export function createApiService(deps: { surveys: SurveyService; ratings: RatingService }) {
  return {
    listSurveys: deps.surveys.listSurveys,
    async surveyDetail(id: string) {
      const survey = await deps.surveys.surveyWithDelivery(id);
      return survey && { ...survey, ...(await deps.ratings.ratingRecord(id)) };
    },
  };
}
