import crypto from 'node:crypto';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { rateLimit } from 'express-rate-limit';
import { AppError } from './errors';
import { CSP_NONCE } from './views';

/** helmet's options: a strict Content-Security-Policy whose script and style sources are this response's nonce. */
const helmetOptions = (nonce: string): Parameters<typeof helmet>[0] => ({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: [`'nonce-${nonce}'`],
      styleSrc: [`'nonce-${nonce}'`],
      imgSrc: ["'self'", 'https:', 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: false, // the TLS-terminating proxy in front sets it for its own host
});

/**
 * helmet's headers as it sets them, in its order, asked once: they are the same for every response
 * but the nonce in the policy, and helmet builds and validates them per response (a tenth of a
 * webhook's CPU, BENCHMARKS.md). A marker stands in for the nonce, so a value that holds it is kept
 * as the pieces around it.
 */
function helmetHeaders(): { headers: Array<[string, string | string[]]>; removed: string[] } {
  const marker = `nonce${crypto.randomBytes(12).toString('hex')}`;
  const headers: Array<[string, string | string[]]> = [];
  const removed: string[] = [];
  const res = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value).includes(marker) ? String(value).split(marker) : String(value)]),
    removeHeader: (name: string) => removed.push(name),
  };
  let done = false;
  helmet(helmetOptions(marker))({} as never, res as never, (err?: unknown) => {
    if (err !== undefined) throw new Error('helmet refused its options', { cause: err });
    done = true;
  });
  if (!done || !headers.some(([, value]) => Array.isArray(value))) throw new Error('helmet did not set its headers, with the nonce, at once');
  return { headers, removed };
}

/**
 * helmet's headers with a strict Content-Security-Policy: no script or style but ours (by nonce),
 * forms post only to us, nothing may frame our pages, images from us or https (brand logos).
 * A fresh nonce per response, put where the templates wrote CSP_NONCE (in <script nonce> and
 * <style nonce>): the only inline code a page may run is the code we rendered for it. Only HTML
 * is searched: JSON answers (webhooks, the API) pass through untouched. Call with the app, whose
 * responses get the substitution (on its response prototype: nothing is bound per request).
 */
export function securityHeaders(app: Express): RequestHandler {
  const { headers, removed } = helmetHeaders();
  const send = app.response.send;
  app.response.send = function sendWithNonce(this: Response, body?: unknown) {
    const nonce: unknown = this.locals.cspNonce;
    if (typeof nonce !== 'string' || typeof body !== 'string' || !body.includes(CSP_NONCE)) return send.call(this, body);
    const type = this.get('Content-Type');
    const isHtml = type === undefined || type.startsWith('text/html'); // express sends a string without a type as HTML
    return send.call(this, isHtml ? body.replaceAll(CSP_NONCE, nonce) : body);
  };
  return (_req, res, next) => {
    // 122 random bits from node's pooled generator (randomBytes per request showed in the ingest profile); hyphens are valid in a nonce.
    const nonce = crypto.randomUUID();
    res.locals.cspNonce = nonce;
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of headers) res.setHeader(name, typeof value === 'string' ? value : value.join(nonce));
    next();
  };
}

/**
 * The email preview shows our HTML email, whose inline styles (as every email's) a strict policy
 * would strip: that one route allows inline styles, still no script.
 */
export const allowInlineStyles: RequestHandler = (_req, res, next) => {
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  next();
};

export type RateLimits = Readonly<{ publicPerMinute: number; webhookFailuresPerMinute: number }>;

const tooMany = (code: string): RequestHandler => (_req, _res, next) => next(new AppError(429, code, 'Too many requests; try again in a minute.'));

/** Rating and unsubscribe links, per client address: a person clicks a few times, a scraper many. */
export const publicRateLimit = (limits: RateLimits) =>
  rateLimit({ windowMs: 60_000, limit: limits.publicPerMinute, standardHeaders: 'draft-7', legacyHeaders: false, handler: tooMany('rate_limited') });

/**
 * Refused credentials, per client address and `scope` (counted once answered 401/403). Past
 * `perMinute` in a minute, further refusals from there answer 429; a request with the right
 * credential is still served: helpdesks send from shared addresses, leads sit behind one office
 * address, and a stranger failing from the same one must not lock them out. `track` goes before the
 * guarded routes, `gate` (an error handler) after them; expired entries are swept on a timer.
 */
export function failureLimit(perMinute: number, scope: (req: Request) => string, now: () => number = Date.now): { track: RequestHandler; gate: ErrorRequestHandler } {
  const failures = new Map<string, { count: number; until: number }>();
  const marker = Symbol('failure-limit');
  const sweep = setInterval(() => {
    for (const [k, v] of failures) if (v.until <= now()) failures.delete(k);
  }, 60_000);
  sweep.unref();
  const over = (key: string) => {
    const seen = failures.get(key);
    return seen !== undefined && seen.until > now() && seen.count >= perMinute;
  };
  const track: RequestHandler = (req, res, next) => {
    const key = `${req.ip ?? 'unknown'} ${scope(req)}`;
    res.locals[marker as unknown as string] = key;
    res.on('finish', () => {
      if (res.statusCode !== 401 && res.statusCode !== 403) return;
      const seen = failures.get(key);
      const entry = seen && seen.until > now() ? seen : { count: 0, until: now() + 60_000 };
      entry.count += 1;
      failures.set(key, entry);
    });
    next();
  };
  const gate: ErrorRequestHandler = (err, _req, res, next) => {
    const key: unknown = res.locals[marker as unknown as string];
    const refused = err instanceof AppError && (err.status === 401 || err.status === 403);
    if (refused && typeof key === 'string' && over(key)) return next(new AppError(429, 'rate_limited', 'Too many refused credentials; try again in a minute.'));
    next(err);
  };
  return { track, gate };
}

/** Webhooks: WEBHOOK_AUTH_FAILURES_PER_MINUTE per address and endpoint. */
export const webhookFailureLimit = (limits: RateLimits, now?: () => number) =>
  failureLimit(limits.webhookFailuresPerMinute, (req) => `${req.baseUrl}${req.path.toLowerCase().replace(/\/+$/, '')}`, now);

/** The reports, admin, preview and metrics credentials: the same number per address and area (first path segment). */
export const credentialFailureLimit = (limits: RateLimits, now?: () => number) =>
  failureLimit(limits.webhookFailuresPerMinute, (req) => (req.baseUrl || req.path).toLowerCase().split('/')[1] ?? '', now);
