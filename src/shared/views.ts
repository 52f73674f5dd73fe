import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';

export type Views = {
  /** A page inside a layout: layouts/page.hbs (customer pages) unless another is named. */
  page(name: string, context: Record<string, unknown>, layout?: string): string;
  /** An email part from email/, without layout. */
  email(name: string, context: Record<string, unknown>): string;
};

/**
 * What templates write as a nonce (`<script nonce="{{cspNonce}}">`): random per process, so no
 * user-supplied text can contain it; shared/security.ts puts each response's own nonce in its place.
 */
export const CSP_NONCE = `csp-nonce-${crypto.randomBytes(12).toString('hex')}`;

/** The repository root, found from this file whether it runs from src/ or from dist/src/. */
export function projectRoot(from = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** Compiles every template once at start; {{ }} escapes (except in *.text.hbs), so user data is safe by default. */
export function createViews(templatesDir = path.join(projectRoot(), 'templates')): Views {
  const hbs = Handlebars.create();
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  /** A number or an em dash for "no data" (null), never a misleading 0. */
  hbs.registerHelper('num', (value: number | string | null | undefined, suffix: unknown) => (value === null || value === undefined ? '—' : `${value}${typeof suffix === 'string' ? suffix : ''}`));
  const compileDir = (dir: string) => {
    const full = path.join(templatesDir, dir);
    const out = new Map<string, Handlebars.TemplateDelegate>();
    for (const file of fs.readdirSync(full).filter((f) => f.endsWith('.hbs'))) {
      // Plain-text email parts are not HTML: escaping there would show "&amp;" to the customer.
      const noEscape = file.endsWith('.text.hbs');
      out.set(file.replace(/\.hbs$/, ''), hbs.compile(fs.readFileSync(path.join(full, file), 'utf8'), { strict: false, noEscape }));
    }
    return out;
  };
  for (const [name, template] of compileDir('partials')) hbs.registerPartial(name, template);
  const pages = compileDir('pages');
  const emails = compileDir('email');
  const layouts = compileDir('layouts');

  const pick = (set: Map<string, Handlebars.TemplateDelegate>, name: string) => {
    const template = set.get(name);
    if (!template) throw new Error(`missing template ${name}`);
    return template;
  };
  return {
    page: (name, context, layout = 'page') => {
      const withNonce = { ...context, cspNonce: CSP_NONCE };
      return pick(layouts, layout)({ ...withNonce, body: pick(pages, name)(withNonce) });
    },
    email: (name, context) => pick(emails, name)(context),
  };
}
