import { Router, type Response } from 'express';
import { z } from 'zod';
import { ONE_LINE, validateQuery, validQuery } from '../shared/validation';
import type { Clock } from '../shared/clock';
import { AppError } from '../shared/errors';
import { asksForHtml, htmlErrors, sentToSignIn } from '../shared/http';
import type { Views } from '../shared/views';
import { reportsAuth } from '../shared/auth';
import { actorOf, sessionAccess, signedIn, type Access, type AuditHook } from '../shared/access';
import type { Scope } from './repository';
import { intervalBar, trendChart } from './charts';
import { toCsv } from './csv';
import { parseReportQuery, SORT_KEYS, type ReportQuery } from './query';
import type { AgentRow, ReportService } from './service';
import type { Summary } from './stats';
import { SUPPRESSION_REASONS } from '../surveys/eligibility';

/** The follow-up figures (reports/followups.ts), in the agents CSV after the rating figures. */
const FOLLOWUP_COLUMNS = ['low_ratings', 'followed_up', 'followed_up_pct', 'median_hours_to_first_action', 'recovered', 'recovered_pct'];

/** The reminder figures (reports/reminders.ts), last in the agents CSV. */
const REMINDER_COLUMNS = ['reminders_sent', 'responses_to_first_email', 'first_email_response_rate', 'responses_after_reminder', 'reminder_response_rate'];

const SUMMARY_COLUMNS = [
  ...['surveys_sent', 'suppressed', 'failed', 'responses', 'response_rate', 'csat', 'csat_ci_low', 'csat_ci_high', 'avg_score'],
  ...['score_1', 'score_2', 'score_3', 'score_4', 'score_5', 'comments', 'low_sample', 'cancelled'],
  ...SUPPRESSION_REASONS.map((r) => `suppressed_${r}`),
];

/** A Summary flattened for CSV: the distribution becomes score_1..score_5, the reasons suppressed_<reason>. */
const flat = (s: Summary) => ({
  ...s,
  ...Object.fromEntries(Object.entries(s.distribution).map(([k, v]) => [`score_${k}`, v])),
  ...Object.fromEntries(Object.entries(s.suppressed_by_reason).map(([k, v]) => [`suppressed_${k}`, v])),
});

/** The period and filters of a view, for links to other views of the same data. */
const scopeParams = (q: ReportQuery) => {
  const { from, to, team, brand, question, variant } = q.scope;
  return { from, to, team, brand, question, variant };
};

const link = (path: string, params: Record<string, string | number | undefined>) => {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '') as Array<[string, string]>);
  return qs.size ? `${path}?${qs.toString()}` : path;
};

/** The per-ticket export: one row per rated survey, with its comment. */
const RATING_COLUMNS = ['ticket_id', 'subject', 'agent_id', 'agent_name', 'team', 'brand', 'closed_at', 'rated_at', 'score', 'comment', 'credited_by', 'survey_id'];

/** The feed's own filters: `score` (one or more of 1-5, comma-separated or repeated), `q` (text in the comment, any case). */
const feedQuery = z
  .object({
    score: z
      .union([z.string(), z.array(z.string())])
      .transform((v) => [...new Set((Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean))])
      .pipe(z.array(z.enum(['1', '2', '3', '4', '5'], { message: 'must be scores 1 to 5, comma-separated' })).transform((l) => l.map(Number)))
      .optional(),
    q: z.string().trim().max(200).regex(ONE_LINE, 'must not contain control characters').transform((s) => s || undefined).optional(),
  })
  .passthrough();

const outOfScope = () => new AppError(403, 'not_in_scope', 'That is outside what you may see.');

/** Narrows a report's scope to what its reader may see: a lead's teams, an agent's own rows; asking for more is 403. */
function within(scope: Scope, access: Access): Scope {
  if (access.kind === 'teams') {
    if (scope.team !== undefined && !access.teams.includes(scope.team)) throw outOfScope();
    return { ...scope, teams: access.teams };
  }
  if (access.kind === 'agent') {
    if (scope.agentId !== undefined && scope.agentId !== access.agentId) throw outOfScope();
    return { ...scope, agentId: access.agentId };
  }
  if (access.kind === 'none') throw outOfScope();
  return scope;
}

/** Support leads' reports as JSON, CSV or an HTML dashboard: behind the reports token, or for a signed-in user within their access. */
export function reportRoutes(deps: { reports: ReportService; views: Views; clock: Clock; tz: string; token: string; previousToken?: string; audit?: AuditHook }): Router {
  const { reports, views } = deps;
  const router = Router();
  router.use('/reports', (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    if (asksForHtml(req)) htmlErrors(req, res, next);
    else next();
  });
  // A signed-in user reads within their access; a request with a credential (the reports token), or none, goes through the token check.
  const tokenCheck = reportsAuth(deps.token, deps.previousToken);
  router.use('/reports', (req, res, next) => {
    const access = sessionAccess(res);
    if (sentToSignIn(req, res, Boolean(access))) return;
    if (!access || req.get('authorization')) return void tokenCheck(req, res, next);
    if (access.kind === 'none') throw new AppError(403, 'not_in_scope', 'Your role shows no scores (AGENT_VIEW=none).');
    next();
  });
  const accessOf = (res: Response): Access => (res.req.get('authorization') ? undefined : sessionAccess(res)) ?? { kind: 'all' };
  const query = (req: Parameters<typeof parseReportQuery>[0], res: Response) => {
    const q = parseReportQuery(req, deps.tz, deps.clock.now());
    return { ...q, scope: within(q.scope, accessOf(res)) };
  };

  /** A CSV export, recorded in the audit trail first (who exported what, with its filters). */
  const sendCsv = async (res: Response, name: string, q: ReportQuery, columns: string[], rows: Array<Record<string, unknown>>) => {
    await deps.audit?.(res, { actor: actorOf(res, 'reports-token'), action: 'export', subject: res.req.path, detail: { ...q.raw, rows: rows.length } });
    res.type('text/csv; charset=utf-8').attachment(`${name}_${q.scope.from}_${q.scope.to}.csv`).send(toCsv(columns, rows));
  };

  router.get('/reports/agents', async (req, res) => {
    const q = query(req, res);
    const report = await reports.agents(q.scope, q.sort, q.format === 'html' ? q.interval : undefined);
    if (q.format === 'json') return void res.json(report);
    if (q.format === 'csv') {
      const rows = report.agents.map((a) => ({ agent_id: a.agent_id, agent_name: a.agent_name, team: a.team, ...flat(a) }));
      return void (await sendCsv(res, 'agents', q, ['agent_id', 'agent_name', 'team', ...SUMMARY_COLUMNS, 'scanner_discarded', ...FOLLOWUP_COLUMNS, ...REMINDER_COLUMNS], rows));
    }
    const sortLink = (key: string) => link('/reports/agents', { ...q.raw, sort: key, dir: q.sort.key === key && q.sort.dir === 'desc' ? 'asc' : 'desc' });
    res.send(
      views.page(
        'report-agents',
        {
          signedIn: signedIn(res),
          values: await reports.filterValues(q.scope),
          title: 'Agents — Closeloop',
          report,
          q: q.raw,
          sort: q.sort,
          overallBar: intervalBar(report.overall),
          chart: report.trend && trendChart(report.trend),
          rows: report.agents.map((a: AgentRow) => ({
            ...a,
            bar: intervalBar(a),
            href: a.agent_id ? link(`/reports/agents/${encodeURIComponent(a.agent_id)}`, scopeParams(q)) : null,
          })),
          columns: SORT_KEYS.map((key) => ({
            key,
            label: key === 'csat_ci_low' ? '95% interval' : key.replace(/_/g, ' '),
            href: sortLink(key),
            active: q.sort.key === key ? (q.sort.dir === 'desc' ? '▼' : '▲') : '',
          })),
          csvHref: link('/reports/agents', { ...q.raw, format: 'csv' }),
          trendHref: link('/reports/trend', { ...q.raw }),
          ratingsHref: link('/reports/ratings', scopeParams(q)),
        },
        'report',
      ),
    );
  });

  router.get('/reports/agents/:agentId', async (req, res) => {
    const q = query(req, res);
    if (q.format === 'csv') throw new AppError(400, 'invalid_query', 'The drill-down is available as json or html.', [{ path: 'format', message: 'must be json or html' }]);
    // Agent ids are one-line strings of at most 128 characters (the webhook contract): anything else is no agent of ours.
    if (req.params.agentId.length > 128 || /[\u0000-\u001f\u007f]/.test(req.params.agentId)) throw new AppError(404, 'not_found', 'No surveys for this agent.');
    const access = accessOf(res);
    if (access.kind === 'agent' && req.params.agentId !== access.agentId) throw outOfScope();
    const report = await reports.agent(req.params.agentId, q.scope, q.page, q.interval);
    // A lead sees an agent only through their teams' surveys: another team's agent is no agent of theirs.
    if (!report.known || (access.kind === 'teams' && !report.inScope)) throw new AppError(404, 'not_found', 'No surveys for this agent.');
    const { known: _known, inScope: _inScope, ...body } = report;
    if (q.format === 'json') return void res.json(body);
    const pages = Math.max(1, Math.ceil(body.ratings.total / body.ratings.per_page));
    const pageLink = (p: number) => link(`/reports/agents/${encodeURIComponent(req.params.agentId)}`, { ...q.raw, page: p, per_page: q.page.perPage });
    res.send(
      views.page(
        'report-agent',
        {
          signedIn: signedIn(res),
          title: `${body.agent.agent_name ?? body.agent.agent_id} — Closeloop`,
          report: body,
          q: q.raw,
          bar: intervalBar(body.agent),
          chart: trendChart(body.trend),
          pages,
          prevHref: body.ratings.page > 1 ? pageLink(body.ratings.page - 1) : null,
          nextHref: body.ratings.page < pages ? pageLink(body.ratings.page + 1) : null,
          backHref: link('/reports/agents', scopeParams(q)),
        },
        'report',
      ),
    );
  });

  router.get('/reports/variants', async (req, res) => {
    const q = query(req, res);
    const question = q.scope.question;
    if (!question) throw new AppError(400, 'invalid_query', 'Name the question whose variants to compare.', [{ path: 'question', message: 'is required' }]);
    const report = await reports.variants({ ...q.scope, question });
    if (q.format === 'json') return void res.json(report);
    if (q.format === 'csv') {
      const rows = report.variants.map((v) => ({
        variant: v.variant,
        ...flat(v),
        csat_diff_pp: v.csat_vs_control?.difference,
        csat_p_value: v.csat_vs_control?.p_value,
        response_rate_diff_pp: v.response_rate_vs_control?.difference,
        response_rate_p_value: v.response_rate_vs_control?.p_value,
      }));
      const columns = ['variant', ...SUMMARY_COLUMNS, 'csat_diff_pp', 'csat_p_value', 'response_rate_diff_pp', 'response_rate_p_value'];
      return void (await sendCsv(res, `variants_${question}`, q, columns, rows));
    }
    res.send(
      views.page(
        'report-variants',
        {
          signedIn: signedIn(res),
          values: await reports.filterValues(q.scope),
          title: `Variants of ${question} — Closeloop`,
          report,
          q: q.raw,
          rows: report.variants.map((v) => ({ ...v, bar: intervalBar(v) })),
          csvHref: link('/reports/variants', { ...q.raw, format: 'csv' }),
          backHref: link('/reports/agents', scopeParams(q)),
        },
        'report',
      ),
    );
  });

  router.get('/reports/ratings', validateQuery(feedQuery, 'Check the report parameters.'), async (req, res) => {
    const q = query(req, res);
    const only = validQuery(res, feedQuery);
    const filter = { scores: only.score, search: only.q };
    if (q.format === 'csv') {
      const report = await reports.ratings(q.scope, null, filter);
      return void (await sendCsv(res, 'ratings', q, RATING_COLUMNS, report.ratings.items));
    }
    const report = await reports.ratings(q.scope, q.page, filter);
    if (q.format === 'json') return void res.json(report);
    const pages = Math.max(1, Math.ceil(report.ratings.total / report.ratings.per_page));
    const params = { ...q.raw, ...(only.score && { score: only.score.join(',') }), ...(only.q && { q: only.q }) };
    const pageLink = (p: number) => link('/reports/ratings', { ...params, page: p, per_page: q.page.perPage });
    res.send(
      views.page(
        'report-ratings',
        {
          signedIn: signedIn(res),
          title: 'Ratings and comments — Closeloop',
          report,
          q: q.raw,
          search: only.q ?? '',
          scores: [1, 2, 3, 4, 5].map((score) => ({ score, checked: only.score?.includes(score) ?? false })),
          pages,
          prevHref: report.ratings.page > 1 ? pageLink(report.ratings.page - 1) : null,
          nextHref: report.ratings.page < pages ? pageLink(report.ratings.page + 1) : null,
          csvHref: link('/reports/ratings', { ...params, format: 'csv' }),
          backHref: link('/reports/agents', scopeParams(q)),
        },
        'report',
      ),
    );
  });

  router.get('/reports/trend', async (req, res) => {
    const q = query(req, res);
    const report = await reports.trend(q.scope, q.interval);
    if (q.format === 'json') return void res.json(report);
    if (q.format === 'csv') {
      const rows = report.buckets.map((b) => ({ start: b.start, end: b.end, ...flat(b) }));
      return void (await sendCsv(res, 'trend', q, ['start', 'end', ...SUMMARY_COLUMNS], rows));
    }
    res.send(
      views.page(
        'report-trend',
        {
          signedIn: signedIn(res),
          values: await reports.filterValues(q.scope),
          title: 'Trend — Closeloop',
          report,
          q: q.raw,
          chart: trendChart(report.buckets),
          csvHref: link('/reports/trend', { ...q.raw, format: 'csv' }),
          backHref: link('/reports/agents', scopeParams(q)),
        },
        'report',
      ),
    );
  });

  return router;
}
