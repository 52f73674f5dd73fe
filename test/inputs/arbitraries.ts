import fc from 'fast-check';
import type { TestApp } from '../helpers/boot';

/**
 * Shared pieces of the bad-input suite: one fixed seed (CI sees the same inputs every run),
 * generators of hostile text and JSON, the escaping oracles (what handlebars and the CSV writer
 * must turn a string into), and a log of how many inputs each property tried.
 */

export const SEED = 20261120;

/** INPUTS_SCALE=10 npx jest test/inputs tries ten times as many inputs (same seed, longer run). */
const SCALE = Number(process.env.INPUTS_SCALE ?? '1') || 1;
export const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

/** Generous per-property jest timeout (a safety net): PostgreSQL is slower than SQLite, a busy machine many times slower, and INPUTS_SCALE multiplies. */
export const PROPERTY_TIMEOUT_MS = 300_000 * SCALE;

/**
 * Counts the inputs each property ran on (shrinking included) and the answers they got, and
 * prints them once per file: the issue asks how many inputs were tried, and the spread of
 * answers shows the generators reach both sides of each rule.
 */
export function inputLog(file: string) {
  const tried: Array<{ property: string; inputs: number; answers: Map<number, number> }> = [];
  let current: Map<number, number> | undefined;
  return {
    async check<T>(property: string, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, numRuns: number): Promise<void> {
      const entry = { property, inputs: 0, answers: new Map<number, number>() };
      tried.push(entry);
      current = entry.answers;
      try {
        await fc.assert(
          fc.asyncProperty(arb, async (value) => {
            entry.inputs += 1;
            await predicate(value);
          }),
          { seed: SEED, numRuns: runs(numRuns) },
        );
      } finally {
        current = undefined;
      }
    },
    /** Records one HTTP answer of the property now running. */
    answer(status: number): void {
      current?.set(status, (current.get(status) ?? 0) + 1);
    },
    print(): void {
      const total = tried.reduce((n, t) => n + t.inputs, 0);
      const lines = tried.map((t) => {
        const answers = [...t.answers].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ');
        return `  ${String(t.inputs).padStart(6)}  ${t.property}${answers ? `  [${answers}]` : ''}`;
      });
      console.log(`test/inputs/${file}: ${total} inputs tried (seed ${SEED}, scale ${SCALE})\n${lines.join('\n')}`);
    },
  };
}

/** Row counts of the tables a request could write, to prove a rejected request wrote nothing. */
export async function rowCounts(t: TestApp, tables: readonly string[]): Promise<Record<string, number>> {
  // One round trip for all tables: properties call this twice per input.
  const row = await t.db.select(tables.map((table) => t.db(table).count('*').as(table))).first();
  return Object.fromEntries(tables.map((table) => [table, Number(row[table])]));
}

// ---------------------------------------------------------------------------------------------
// Hostile text

export const FRAGMENTS = {
  markup: [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '"><svg onload=alert(1)>',
    "'><b onmouseover=alert(1)>x</b>",
    '</textarea><script>alert(2)</script>',
    '</title><script>alert(3)</script>',
    '<iframe srcdoc="<script>alert(4)</script>">',
    '<a href="javascript:alert(5)">x</a>',
    '<style>body{display:none}</style>',
    '<!--',
    '-->',
    '{{constructor.constructor}}',
    '{{{body}}}',
    '&amp;',
    '&lt;b&gt;',
    '&#60;script&#62;',
    '`',
    '=',
    "'",
    '"',
  ],
  header: [
    'Bcc: victim@example.com',
    'Subject: pwned',
    'Content-Type: text/html',
    'X-Injected: 1',
    'To: other@example.com',
    '=?utf-8?B?QmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=?=',
    '%0d%0aBcc: victim@example.com',
    'Ann <evil@attacker.example>, Bob',
    'evil@attacker.example;',
  ],
  sql: ["'; DROP TABLE surveys; --", '" OR "1"="1', "Robert'); DROP TABLE students;--", '%', '_', '\\', '?', '??', ':name', '$1', '/* x */', 'NULL', "''", ';'],
  formula: ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1:A9)', "=cmd|' /C calc'!A0", '=1', '+', '-', '@'],
  unicode: [
    '\u202e', '\u202d', '\u200f', '\u200e', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00a0', '\u2028', '\u2029', '\u0085',
    '👩‍👩‍👧‍👦', '🏳️‍🌈', 'e\u0301', '＜script＞', '𝕏', '\ufffd', '\uffff', '王', 'مرحبا', 'עברית', 'Zoë', 'ß', 'İ', '\u0300', '😀',
  ],
  control: ['\r\n', '\n', '\r', '\t', '\u0000', '\u0001', '\u001b[31m', '\u007f', '\u000b', '\u000c', '\r\nBcc: victim@example.com', '\nX-Injected: 1'],
  lone: ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'],
} as const;

type FragmentSet = keyof typeof FRAGMENTS;

/** Text built from hostile fragments, random code points and plain words, in any order. */
export function hostileText(opts: { sets?: FragmentSet[]; maxPieces?: number } = {}): fc.Arbitrary<string> {
  const sets = opts.sets ?? ['markup', 'header', 'sql', 'formula', 'unicode'];
  const fragment = fc.constantFrom(...sets.flatMap((s) => FRAGMENTS[s] as readonly string[]));
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fragment },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) },
        { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }) },
        { weight: 1, arbitrary: fc.constantFrom(' ', '  ', 'Ann', 'Ada Lovelace', 'Refund for order 42') },
      ),
      { minLength: 1, maxLength: opts.maxPieces ?? 6 },
    )
    .map((pieces) => pieces.join(''));
}

/** Every control character the contract forbids in one-line fields. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const CONTROL_CHARS_G = /[\u0000-\u001f\u007f]/g;

/** A string as UTF-8 storage gives it back: unpaired surrogates become U+FFFD (String.prototype.toWellFormed). */
export const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** The first code points of `s` that fit in `max` UTF-16 units: never cuts a surrogate pair in half. */
export function clip(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out;
}

/**
 * Hostile text the contract accepts for a one-line field of at most `max` characters: no control
 * characters, no unpaired surrogate (refused: storage would turn it into U+FFFD), not blank. It may
 * carry surrounding whitespace (the service trims it).
 */
export function validLine(max: number): fc.Arbitrary<string> {
  return hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode'] }).map((raw) => {
    const value = clip(wellFormed(raw.replace(CONTROL_CHARS_G, '')), max);
    return value.trim() === '' ? 'x' : value;
  });
}

/** What the contract does to an accepted one-line string: trims it. */
export const stored = (s: string) => s.trim();

// ---------------------------------------------------------------------------------------------
// Oracles

const HB_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '`': '&#x60;', '=': '&#x3D;' };
/** Handlebars' {{ }} escaping, written out independently of the library. */
export const htmlEscaped = (s: string) => s.replace(/[&<>"'`=]/g, (c) => HB_ESCAPES[c]);

/** README: a text cell starting with =, +, -, @, tab or CR gets a leading apostrophe. */
export const csvDefused = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);

/** A strict RFC 4180 reader (CRLF records, "" inside quoted fields); throws on anything else. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  if (!text.endsWith('\r\n')) throw new Error('CSV does not end with CRLF');
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        cell += text[i];
        i += 1;
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`bare quote in an unquoted field at ${i}`);
        cell += text[i];
        i += 1;
      }
    }
    row.push(cell);
    if (text[i] === ',') {
      i += 1;
    } else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else {
      throw new Error(`unexpected ${JSON.stringify(text[i])} after a field at ${i}`);
    }
  }
  return rows;
}

/** Markup from FRAGMENTS that must never reach a page or email as markup (the templates themselves contain none of it). */
export const INJECTED_MARKUP = /<script>alert|<img src=x|<svg onload|<b onmouseover|<iframe srcdoc|<a href="javascript:|<style>body\{display/;

// ---------------------------------------------------------------------------------------------
// URLs

/** A path segment that reaches the server as `s` itself (well-formed): encodeURIComponent plus dots, so no ./.. resolving on the way. */
export const segment = (s: string) => encodeURIComponent(wellFormed(s)).replace(/\./g, '%2E');

/**
 * A path segment sent as raw as an HTTP client allows: '%' and '/' stay as they are (so malformed
 * escapes and extra segments reach the router); dots and everything a request line cannot carry
 * are escaped (a client would resolve ./.. before sending).
 */
export const rawSegment = (s: string) =>
  Array.from(s)
    .map((ch) => (/^[A-Za-z0-9\-_~!$&'()*+,;=:@/%]$/.test(ch) ? ch : encodeURIComponent(wellFormed(ch)).replace(/\./g, '%2E')))
    .join('');

/**
 * The path segments the router sees for `wire` (a raw path tail): split on '/', a trailing slash
 * tolerated as express does, each segment percent-decoded (undefined when it cannot be).
 */
export function routedSegments(wire: string): Array<string | undefined> {
  const parts = wire.split('/');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return undefined;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Any JSON value, with strings of any code point. */
export const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });

/** A JSON value nested `depth` levels deep, as text (JSON.stringify would recurse): arrays or objects. */
export function nested(depth: number, kind: 'array' | 'object', leaf = '1'): string {
  return kind === 'array' ? '['.repeat(depth) + leaf + ']'.repeat(depth) : '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}
