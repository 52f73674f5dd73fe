import type { RequestHandler } from 'express';
import { WEBHOOK_RESULTS, WEBHOOK_SOURCES, type Metrics } from '../shared/metrics';

type Result = (typeof WEBHOOK_RESULTS)[number];

const sourceOf = (path: string) => {
  const name = path.split('/')[1] ?? '';
  if (name === 'ticket-closed' || name === 'ticket-reopened') return 'generic';
  return (WEBHOOK_SOURCES as readonly string[]).includes(name) ? name : 'unknown';
};

function resultOf(status: number, body: unknown): Result {
  const answered = (body as { status?: unknown } | null)?.status;
  if (status < 300) return (WEBHOOK_RESULTS as readonly unknown[]).includes(answered) ? (answered as Result) : 'other';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'unavailable';
  return status < 500 ? 'rejected' : 'error';
}

/**
 * Counts every webhook by source and result (closeloop_webhooks_total), from the answer it got; a
 * replay answered from its receipt counts as "replayed". Mounted at /webhooks. Only POSTs are
 * webhooks: a helpdesk checking the URL (GET, HEAD) is not counted. A webhook's own answer (2xx) is
 * given by sendAnswer (replay.ts), which leaves its body in res.locals; errors count by their status.
 */
export function webhookMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const source = sourceOf(req.path); // relative to /webhooks here; by 'finish' express has put the full path back
    res.on('finish', () => metrics.webhooks.inc({ source, result: res.locals.replayed ? 'replayed' : resultOf(res.statusCode, res.locals.answerBody) }));
    next();
  };
}
