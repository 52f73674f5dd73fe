import crypto from 'node:crypto';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { ZodError } from 'zod';
import { AppError, isStorageUnavailable } from './errors';
import { safeError, type Logger } from './logger';
import type { Views } from './views';
import type { Metrics } from './metrics';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Tokens live in rating (/r) and unsubscribe (/u) URLs, emails in erasure URLs: a log gets the
 * matched route's pattern, and an unmatched path with every segment that could be a token or an
 * email masked (routes match in any case, with or without a trailing slash, so a fixed prefix would not do).
 */
export function loggablePath(path: string, routePattern?: string): string {
  if (routePattern) return routePattern;
  return path
    .split('/')
    .map((segment) => (/^[A-Za-z0-9_-]{16,}$/.test(segment) || /@|%40/i.test(segment) || segment.length > 64 ? ':redacted' : segment))
    .join('/')
    .replace(/^\/([ru])\/[^/]+/i, '/$1/:token')
    .replace(/^\/api\/customers\/[^/]+/i, '/api/customers/:email');
}

/**
 * A request id (the caller's if it is sane) echoed in X-Request-Id, and one log line per request.
 * `res.locals.log`, the request's child logger, is made only when something asks for it (an error):
 * pino builds a child's bindings afresh each time, and the request line carries `reqId` itself.
 */
export function requestContext(logger: Logger, metrics?: Metrics): RequestHandler {
  // The request line carries only what is built here (an id we checked or made, the method, the
  // path with tokens and emails masked, the status, the time), none of it under a redacted key: it
  // skips the redaction every other line goes through (pino child option `redact: []`), whose 40
  // paths, half of them wildcards, cost about 14 µs of CPU per line (BENCHMARKS.md), on every request.
  const requestLog = logger.child({}, { redact: [] });
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const started = process.hrtime.bigint();
    res.locals.requestId = id;
    Object.defineProperty(res.locals, 'log', {
      configurable: true,
      enumerable: true,
      get(): Logger {
        const log = logger.child({ reqId: id });
        Object.defineProperty(res.locals, 'log', { value: log, writable: true, configurable: true, enumerable: true });
        return log;
      },
    });
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const pattern: unknown = req.route?.path;
      if (requestLog.isLevelEnabled('info')) {
        requestLog.info({ reqId: id, method: req.method, path: loggablePath(req.path, typeof pattern === 'string' ? req.baseUrl + pattern : undefined), status: res.statusCode, ms }, 'request');
      }
      // The route's pattern as we wrote it (never the URL: tokens and emails live in URLs), or "unmatched".
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const method = HTTP_METHODS.has(req.method) ? req.method : 'OTHER';
      metrics?.httpDuration.observe({ method, route, status: `${Math.floor(res.statusCode / 100)}xx` }, ms / 1000);
    });
    next();
  };
}

export const zodDetails = (err: ZodError) =>
  err.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));

/** Pages answer errors as HTML; everything else as JSON. Marks a router's requests as pages. */
/** Whether a request asks for a page: ?format=html, or, with no format given, an Accept that prefers HTML to JSON (a browser). */
export const asksForHtml = (req: Request) => req.query.format === 'html' || (!req.query.format && req.accepts(['json', 'html']) === 'html');

/**
 * A browser's GET (or HEAD) of a signed-in page with neither a session nor a credential goes to /login (the
 * Basic prompt is for the tokens of automation, which send them up front). Answers whether it went.
 */
export function sentToSignIn(req: Request, res: Response, hasSession: boolean): boolean {
  if (hasSession || req.get('authorization') || (req.method !== 'GET' && req.method !== 'HEAD') || !asksForHtml(req)) return false;
  res.redirect(303, '/login');
  return true;
}

export const htmlErrors: RequestHandler = (_req, res, next) => {
  res.locals.htmlErrors = true;
  next();
};

const PAGE_MESSAGES: Record<number, { heading: string; text?: string }> = {
  404: { heading: 'This link is not valid.', text: 'Please use the link from your email as it is.' },
  410: { heading: 'This survey has closed.', text: 'Thank you all the same.' },
  503: { heading: 'We could not save this right now.', text: 'Please try again in a minute.' },
};

/** One place maps errors to responses: AppError as-is, storage outages to 503, the rest to a logged 500. */
export function errorHandler(views: Views): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const log = (res.locals.log ?? console) as Logger;
    let status = 500;
    let body: { error: string; message?: string; details?: unknown; request_id?: string };
    if (err instanceof AppError) {
      status = err.status;
      body = { error: err.code, ...(err.message !== err.code && { message: err.message }), ...(err.details !== undefined && { details: err.details }) };
    } else if (isStorageUnavailable(err)) {
      status = 503;
      body = { error: 'unavailable' };
      log.error({ err: safeError(err) }, 'storage unavailable');
    } else if (err && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
      // body-parser: 413 too large, 400 bad encoding, 415 charset; the router: 400 for a malformed %-escape in a path
      status = err.status;
      body = { error: status === 413 ? 'payload_too_large' : err.type?.replace(/\./g, '_') ?? 'bad_request' };
    } else {
      body = { error: 'internal_error', request_id: res.locals.requestId };
      log.error({ err: safeError(err) }, 'unhandled error');
    }
    if (status === 503) res.setHeader('Retry-After', '30');
    if (res.headersSent) return;
    if (res.locals.htmlErrors && !req.is('application/json')) {
      const message = PAGE_MESSAGES[status] ?? { heading: body.message ?? 'Something went wrong.', text: status >= 500 ? 'Please try again later.' : undefined };
      res.status(status).type('html').send(views.page('message', { title: message.heading, ...message }));
      return;
    }
    res.status(status).json(body);
  };
}

/**
 * Blocks cross-site POSTs. Our pages send no referrer, so a browser's same-origin form POST may
 * carry `Origin: null`; Sec-Fetch-Site then tells same-origin from cross-site. A real Origin must
 * name our public origin. Clients that send neither header (curl, API callers) are not browsers.
 */
export function sameOriginOnly(publicUrl: string): RequestHandler {
  const origin = new URL(publicUrl).origin;
  return (req, _res, next) => {
    const fetchSite = req.get('sec-fetch-site');
    const requestOrigin = req.get('origin');
    const siteOk = fetchSite ? ['same-origin', 'none'].includes(fetchSite) : requestOrigin !== 'null';
    const originOk = !requestOrigin || requestOrigin === origin || (requestOrigin === 'null' && Boolean(fetchSite));
    const allowed = siteOk && originOk;
    if (!allowed) throw new AppError(403, 'cross_origin', 'Requests must come from this site.');
    next();
  };
}
