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

/** One line of text: no control characters (CR, LF, NUL, …), which could end up in headers or logs, and which PostgreSQL refuses (NUL). */
export const ONE_LINE = /^[^\u0000-\u001f\u007f]*$/;

/** A name, id or owner given by a person: trimmed, 1..max characters, one line. */
export const oneLine = (max: number) => z.string().trim().min(1).max(max).regex(ONE_LINE, 'must not contain control characters');

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
