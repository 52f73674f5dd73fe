import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from './errors';
import { zodDetails } from './http';

/**
 * The one way a route checks what it was sent: `input` parsed by `schema`, or the one 400 shape
 * `{error: code, message, details: [{path, message}]}` with nothing done. The handler gets typed data.
 */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown, code: string, message: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError(400, code, message, zodDetails(parsed.error));
  return parsed.data;
}

/*
 * Text is Unicode. A JSON escape \uD800–\uDFFF without its pair is no character (RFC 8259, section
 * 8.2: software's behaviour with it is "unpredictable"; RFC 7493, I-JSON, forbids it), and both
 * databases store it as U+FFFD: two different ids would be stored as one. So it is refused, like a
 * control character. \p{Cs} under the u flag matches only such unpaired halves (a pair reads as one
 * character). Only JSON bodies can carry one: URLs and forms decode bytes, which make U+FFFD.
 */

/** One line of text: no control characters (CR, LF, NUL, …), which could end up in headers or logs, and which PostgreSQL refuses (NUL); no unpaired surrogate. */
export const ONE_LINE = /^[^\u0000-\u001f\u007f\p{Cs}]*$/u;

/** Text of several lines (a comment, a note): line breaks and tabs allowed, other control characters and unpaired surrogates not. */
export const TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\p{Cs}]*$/u;

/** A name, id or owner given by a person: trimmed, 1..max characters, one line. */
export const oneLine = (max: number) => z.string().trim().min(1).max(max).regex(ONE_LINE, 'must not contain control characters');

/** A string with an unpaired surrogate (see above). */
export const hasUnpairedSurrogate = (value: unknown) => typeof value === 'string' && /\p{Cs}/u.test(value);

/**
 * A JSON number that JSON.parse rounded: an integer above 2^53 − 1, where numbers stop being
 * exact (RFC 8259, section 6), so two different ones can read as the same.
 */
export const roundedInteger = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);

/**
 * Where in parsed JSON the first value or member name that is `faulty` is, as a details path
 * (`customer.name`, `tags.2`); undefined where there is none. Walks without recursion: a 100 kB
 * body can nest deeper than the stack.
 */
export function firstInJson(json: unknown, faulty: (value: unknown) => boolean): string | undefined {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value: json, path: [] }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { value, path } = next;
    if ((path.length > 0 && faulty(path[path.length - 1])) || faulty(value)) return path.join('.') || '(body)';
    if (value !== null && typeof value === 'object') {
      // Pushed last to first, so the first one at fault in the body is the one named.
      for (const [key, member] of Object.entries(value).reverse()) stack.push({ value: member, path: [...path, key] });
    }
  }
  return undefined;
}

/** A query string's parameters, blank ones dropped (a form's empty field means "not given"). */
export const givenParams = (req: Request) => Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== ''));

/**
 * Middleware: the query string parsed by `schema` (400 `invalid_query` with `message` otherwise);
 * the handler reads it with `validQuery(res, schema)`.
 */
export function validateQuery<S extends z.ZodType>(schema: S, message: string): RequestHandler {
  return (req, res, next) => {
    res.locals.query = parseOr400(schema, givenParams(req), 'invalid_query', message);
    next();
  };
}

/** The query `validateQuery(schema, …)` parsed for this request. */
export const validQuery = <S extends z.ZodType>(res: Response, _schema: S): z.output<S> => res.locals.query as z.output<S>;
