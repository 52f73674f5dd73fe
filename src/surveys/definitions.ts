import fs from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { z } from 'zod';

/**
 * Survey definitions: which question a ticket gets, its wording per locale, A/B variants,
 * per-brand sender and colours, and each team's leads (who is alerted of low ratings). Read from SURVEYS_FILE (config/surveys.yml) once at start;
 * any fault stops the process naming the file, the line and the field.
 */

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters: a-z, 0-9, _ and -');
const localeKey = z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a locale like en, de or pt-BR');

const labelsSchema = z.object({ 1: text(60), 2: text(60), 3: text(60), 4: text(60), 5: text(60) }).strict();

const wordingSchema = z
  .object({
    subject: text(200),
    intro: text(500),
    question: text(300),
    labels: labelsSchema,
    thanks: text(300),
    comment_prompt: text(300).optional(),
    one_click: text(300).optional(),
  })
  .strict();

const variantSchema = z
  .object({
    id,
    weight: z.number().positive('must be more than 0').max(1_000_000),
    // A variant lists only what it changes, down to single labels.
    locales: z.record(localeKey, wordingSchema.partial().extend({ labels: labelsSchema.partial().optional() })).optional(),
  })
  .strict();

const questionSchema = z
  .object({
    id,
    locales: z.record(localeKey, wordingSchema).refine((l) => 'en' in l, 'must include en, the fallback locale'),
    variants: z.array(variantSchema).min(1).optional(),
  })
  .strict();

const brandSchema = z
  .object({
    sender_name: text(100).optional(),
    sender_address: z.string().email('must be an email address').optional(),
    logo_url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
    accent_color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1f4fbf').optional(),
  })
  .strict();

const leadsSchema = z.array(z.string().email('must be an email address')).min(1, 'must list at least one address').max(50);

/** A team's leads: who is told by email of the team's low ratings (alerts/). */
const teamSchema = z.object({ leads: leadsSchema }).strict();

const ruleSchema = z
  .object({
    brand: z.string().min(1).optional(),
    team: z.string().min(1).optional(),
    tags: z.array(z.string().min(1)).min(1).optional(),
    question: id,
  })
  .strict()
  .refine((r) => r.brand || r.team || r.tags, 'needs at least one of brand, team, tags');

const fileSchema = z
  .object({
    default: id,
    questions: z.array(questionSchema).min(1),
    rules: z.array(ruleSchema).default([]),
    brands: z.record(z.string().min(1), brandSchema).default({}),
    teams: z.record(z.string().min(1).max(128), teamSchema).default({}),
    /** The leads of every team not named under `teams` (and of tickets without a team). */
    default_leads: leadsSchema.optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const ids = new Set<string>();
    f.questions.forEach((q, i) => {
      if (ids.has(q.id)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `"${q.id}" is defined twice` });
      ids.add(q.id);
      const variantIds = new Set<string>();
      q.variants?.forEach((v, j) => {
        if (variantIds.has(v.id)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'variants', j, 'id'], message: `"${v.id}" is defined twice` });
        variantIds.add(v.id);
        // A variant's wording must exist in every locale of its question, or customers in a missing
        // locale would see another variant's words while being counted in this one.
        for (const locale of Object.keys(q.locales)) {
          if (v.locales && !(locale in v.locales)) {
            ctx.addIssue({ code: 'custom', path: ['questions', i, 'variants', j, 'locales'], message: `must cover every locale of the question (missing ${locale})` });
          }
        }
        for (const locale of Object.keys(v.locales ?? {})) {
          if (!(locale in q.locales)) ctx.addIssue({ code: 'custom', path: ['questions', i, 'variants', j, 'locales', locale], message: 'is not a locale of the question' });
        }
      });
    });
    if (!ids.has(f.default)) ctx.addIssue({ code: 'custom', path: ['default'], message: `names no question ("${f.default}")` });
    f.rules.forEach((r, i) => {
      if (!ids.has(r.question)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'question'], message: `names no question ("${r.question}")` });
    });
  });

export type Wording = z.infer<typeof wordingSchema>;
export type SurveyDefinitions = z.infer<typeof fileSchema>;
export type Brand = z.infer<typeof brandSchema>;

/** Whose leads get a team's alerts (`key`: the team, or '*' for default_leads) and their addresses; null when nobody is configured. */
export function leadsFor(definitions: Pick<SurveyDefinitions, 'teams' | 'default_leads'>, team: string | null): { key: string; recipients: string[] } | null {
  const own = team !== null && Object.hasOwn(definitions.teams, team) ? definitions.teams[team] : undefined;
  if (own) return { key: team!, recipients: own.leads };
  return definitions.default_leads ? { key: '*', recipients: definitions.default_leads } : null;
}

export class DefinitionsError extends Error {}

/** Reads and checks the definitions file; errors name `file:line` and the field path. */
export function loadDefinitions(file: string): SurveyDefinitions {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DefinitionsError(`Invalid survey definitions: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseDefinitions(source, file);
}

export function parseDefinitions(source: string, file = 'surveys.yml'): SurveyDefinitions {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false });
  const fail = (lines: string[]) => new DefinitionsError(`Invalid survey definitions in ${file}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
  if (doc.errors.length) {
    throw fail(doc.errors.map((e) => `${file}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`));
  }
  const parsed = fileSchema.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  throw fail(
    parsed.error.issues.map((issue) => {
      // An unknown key is reported at the key itself, not at the block that holds it.
      const at = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
      const path = issue.code === 'unrecognized_keys' ? [...at, issue.keys[0]] : at;
      const line = lineOf(doc.contents, path, lineCounter);
      // A bad record key (a locale) carries the key schema's own message inside.
      const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return `${file}:${line}: ${issue.path.join('.') || '(file)'}: ${message}`;
    }),
  );
}

/** The line of the deepest node on `path` that exists (a missing field points at its parent). */
function lineOf(root: Node | null, path: Array<string | number>, lines: LineCounter): number {
  let node: Node | null = root;
  let offset = root?.range?.[0] ?? 0;
  for (const key of path) {
    if (!node || !(isMap(node) || isSeq(node))) break;
    const next = node.get(key, true) as Node | undefined;
    if (!next) break;
    node = next;
    offset = next.range?.[0] ?? offset;
  }
  return lines.linePos(offset).line;
}
