import type { SurveyService } from '../surveys/service';
import type { RatingService } from '../ratings/service';
import type { FollowupService } from '../followups/service';

export type ApiService = ReturnType<typeof createApiService>;

/** The operators' view of surveys: each survey with its delivery, beside what ratings/ recorded of it. */
export function createApiService(deps: { surveys: SurveyService; ratings: RatingService; followups: FollowupService }) {
  return {
    listSurveys: deps.surveys.listSurveys,
    followups: deps.followups,
    /** A follow-up with its events, its survey and the survey's ratings. */
    async followupDetail(id: number) {
      const followup = await deps.followups.get(id);
      if (!followup) return undefined;
      const survey = await deps.surveys.surveyWithDelivery(followup.survey_id);
      return { ...followup, survey: survey && { ...survey, ...(await deps.ratings.ratingRecord(followup.survey_id)) } };
    },
    async surveyDetail(id: string) {
      const survey = await deps.surveys.surveyWithDelivery(id);
      return survey && { ...survey, ...(await deps.ratings.ratingRecord(id)) };
    },
  };
}
