import { parseDefinitions, loadDefinitions } from '../../src/surveys/definitions';
import { chooseQuestion, chooseQuestionId, chooseVariant, resolveLocale, wordingFor } from '../../src/surveys/questions';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { SHIPPED_SURVEYS, tempDir, validWith, VALID_LINES } from './fixtures';

const wording = (word: string) => `{ subject: ${word} subject, intro: ${word} intro, question: ${word}?, labels: { 1: a, 2: b, 3: c, 4: d, 5: e }, thanks: ${word} thanks }`;

/** Five questions whose wording names them, and rules that overlap on purpose. */
const RULES_FILE = [
  'default: general',
  'questions:',
  ...['general', 'acme_billing', 'vip', 'billing', 'acme'].map((id) => `  - { id: ${id}, locales: { en: ${wording(id)} } }`),
  'rules:',
  '  - { brand: acme, team: billing, question: acme_billing }',
  '  - { tags: [vip, priority], question: vip }',
  '  - { team: billing, question: billing }',
  '  - { brand: acme, question: acme }',
  '',
].join('\n');

describe('which question a ticket gets', () => {
  const defs = parseDefinitions(RULES_FILE);
  const pick = (t: { brand?: string | null; team?: string | null; tags?: string[] }) => chooseQuestionId(defs, { brand: t.brand, team: t.team, tags: t.tags ?? [] });

  it('when no rule matches, then the default question applies', () => {
    expect(pick({})).toBe('general');
    expect(pick({ brand: 'globex', team: 'support', tags: ['refund'] })).toBe('general');
    expect(pick({ brand: null, team: null })).toBe('general');
  });

  it('when a rule names brand and team, then both must match', () => {
    expect(pick({ brand: 'acme', team: 'billing' })).toBe('acme_billing');
    expect(pick({ brand: 'acme', team: 'support' })).toBe('acme');
    expect(pick({ brand: 'globex', team: 'billing' })).toBe('billing');
  });

  it('when a rule lists tags, then any one of them matches, compared exactly', () => {
    expect(pick({ tags: ['vip'] })).toBe('vip');
    expect(pick({ tags: ['priority'] })).toBe('vip');
    expect(pick({ tags: ['refund', 'priority'] })).toBe('vip');
    expect(pick({ tags: ['VIP'] })).toBe('general');
    expect(pick({ tags: ['vipx'] })).toBe('general');
  });

  it('when several rules match, then the first one in the file wins', () => {
    // vip (rule 2) and billing (rule 3) and acme (rule 4) all match; the earliest wins.
    expect(pick({ brand: 'acme', team: 'support', tags: ['vip'] })).toBe('vip');
    expect(pick({ brand: 'globex', team: 'billing', tags: ['vip'] })).toBe('vip');
    expect(pick({ brand: 'acme', team: 'billing', tags: ['vip'] })).toBe('acme_billing');
  });

  it('when a broad rule comes before a narrow one, then the broad one still wins', () => {
    const broadFirst = parseDefinitions(
      RULES_FILE.replace(/rules:[\s\S]*$/, 'rules:\n  - { team: billing, question: billing }\n  - { team: billing, tags: [vip], question: vip }\n'),
    );
    expect(chooseQuestionId(broadFirst, { team: 'billing', tags: ['vip'] })).toBe('billing');
    expect(chooseQuestionId(broadFirst, { team: 'support', tags: ['vip'] })).toBe('general');
  });

  it('when a question is chosen, then the wording is that question\'s', () => {
    expect(chooseQuestion(defs, { ticketId: 'T-1', brand: 'acme', team: 'billing', tags: [] })).toEqual({
      questionId: 'acme_billing',
      variant: null,
      wording: { locale: 'en', subject: 'acme_billing subject', intro: 'acme_billing intro', question: 'acme_billing?', labels: { 1: 'a', 2: 'b', 3: 'c', 4: 'd', 5: 'e' }, thanks: 'acme_billing thanks' },
    });
  });
});

describe('which variant a ticket gets', () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `T-${i + 1}`);
  const shares = (variants: Array<{ id: string; weight: number }>, ticketIds: string[]) => {
    const counts = new Map<string, number>(variants.map((v) => [v.id, 0]));
    for (const id of ticketIds) {
      const v = chooseVariant(variants, 'handling', id)!;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return Object.fromEntries([...counts].map(([v, n]) => [v, n / ticketIds.length]));
  };
  const expectWithin2pp = (actual: Record<string, number>, expected: Record<string, number>) => {
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const [v, share] of Object.entries(expected)) {
      const off = Math.abs(actual[v] - share);
      if (off >= 0.02) throw new Error(`variant ${v}: ${(actual[v] * 100).toFixed(2)} % instead of ${share * 100} %`);
    }
  };

  it('when 10,000 tickets meet a 50/50 split, then each variant gets 50 % ± 2 percentage points', () => {
    expectWithin2pp(shares([{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }], ids), { a: 0.5, b: 0.5 });
  });

  it('when 10,000 tickets meet a 70/20/10 split, then each variant gets its weight ± 2 percentage points', () => {
    const split = [{ id: 'a', weight: 70 }, { id: 'b', weight: 20 }, { id: 'c', weight: 10 }];
    expectWithin2pp(shares(split, ids), { a: 0.7, b: 0.2, c: 0.1 });
    // Helpdesk ids come in other shapes too: plain numbers and UUID-like strings.
    expectWithin2pp(shares(split, ids.map((_, i) => String(100_000 + i))), { a: 0.7, b: 0.2, c: 0.1 });
    expectWithin2pp(shares(split, ids.map((_, i) => `${i.toString(16).padStart(8, '0')}-4a1c-9e7b-${i}`)), { a: 0.7, b: 0.2, c: 0.1 });
  });

  it('when weights do not add up to 100, then they are relative', () => {
    expectWithin2pp(shares([{ id: 'a', weight: 1 }, { id: 'b', weight: 1 }, { id: 'c', weight: 2 }], ids), { a: 0.25, b: 0.25, c: 0.5 });
  });

  it('when the same ticket id is asked again, then it gets the same variant every time', () => {
    const split = [{ id: 'a', weight: 70 }, { id: 'b', weight: 20 }, { id: 'c', weight: 10 }];
    const first = ids.slice(0, 500).map((id) => chooseVariant(split, 'handling', id));
    for (let round = 0; round < 3; round++) expect(ids.slice(0, 500).map((id) => chooseVariant(structuredClone(split), 'handling', id))).toEqual(first);
  });

  it('when a question has no variants, then the variant is null', () => {
    expect(chooseVariant(undefined, 'handling', 'T-1')).toBeNull();
    expect(chooseVariant([], 'handling', 'T-1')).toBeNull();
  });
});

describe('which locale a customer gets', () => {
  it('when the region is not defined, then the language is used: de-AT, de_at, DE-at → de', () => {
    for (const asked of ['de-AT', 'de_at', 'DE', 'De-at', 'de-CH', ' de ']) expect([asked, resolveLocale(['en', 'de'], asked)]).toEqual([asked, 'de']);
  });

  it('when the region is defined, then it is preferred over the language, in any spelling', () => {
    for (const asked of ['de-AT', 'de_at', 'DE-at', 'de_AT']) expect([asked, resolveLocale(['en', 'de', 'de-AT'], asked)]).toEqual([asked, 'de-AT']);
    expect(resolveLocale(['en', 'de', 'de-AT'], 'de-CH')).toBe('de');
    expect(resolveLocale(['en', 'pt-BR'], 'pt-br')).toBe('pt-BR');
  });

  it('when the question lacks the language, or no locale is given, then en is used', () => {
    for (const asked of ['pt', 'pt-BR', 'zh_Hant_TW', 'x', '', null, undefined]) expect([asked, resolveLocale(['en', 'de'], asked)]).toEqual([asked, 'en']);
  });

  it('when wording is asked in a locale the question lacks, then the en wording comes back, marked en', () => {
    const defs = parseDefinitions(validWith());
    const w = wordingFor(defs, 'handling', null, 'fr-FR');
    expect(w).toEqual({ ...defs.questions[0].locales.en, locale: 'en' });
  });

  it('when a variant\'s wording is asked in de-AT, then the de wording with the variant\'s override comes back', () => {
    const defs = parseDefinitions(validWith());
    expect(wordingFor(defs, 'handling', 'short', 'de-AT')).toEqual({ ...defs.questions[0].locales.de, question: 'Zufrieden?', locale: 'de' });
    expect(wordingFor(defs, 'handling', 'control', 'de-AT')).toEqual({ ...defs.questions[0].locales.de, locale: 'de' });
  });

  it('when the shipped file is asked for fr_CA and es-MX, then the fr and es wording come back', () => {
    const defs = loadDefinitions(SHIPPED_SURVEYS);
    expect(wordingFor(defs, defs.default, null, 'fr_CA').locale).toBe('fr');
    expect(wordingFor(defs, defs.default, null, 'es-MX').question).toBe(defs.questions[0].locales.es.question);
  });
});

describe('question, variant and locale through the webhook', () => {
  const tmp = tempDir();
  const file = tmp.write(
    'surveys.yml',
    validWith({
      23: [VALID_LINES[22], `  - { id: vip, locales: { en: ${wording('vip')}, de: ${wording('vip-de')} } }`],
      25: [VALID_LINES[24], '  - { tags: [vip], question: vip }'],
    }),
  );
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp({ SURVEYS_FILE: file });
  });
  afterEach(() => t.close());
  afterAll(() => tmp.cleanup());

  const stored = (surveyId: string) => t.db('surveys').where({ id: surveyId }).first('question_id', 'variant', 'wording', 'locale');

  it('when a ticket carries a tag a rule names, then its survey stores that question and its wording', async () => {
    const res = await t.postWebhook(ticketPayload({ team: 'support', tags: ['vip'], locale: 'de-AT' }));
    expect(res.status).toBe(202);
    const row = await stored(res.body.survey_id);
    expect(row).toMatchObject({ question_id: 'vip', variant: null, locale: 'de-AT' });
    expect(JSON.parse(row.wording)).toMatchObject({ locale: 'de', question: 'vip-de?' });
  });

  it('when a billing ticket asks for pt-BR, then it gets the billing rule\'s question in en, with its variant', async () => {
    const res = await t.postWebhook(ticketPayload({ team: 'billing', locale: 'pt-BR' }));
    const row = await stored(res.body.survey_id);
    expect(row.question_id).toBe('handling');
    expect(['control', 'short']).toContain(row.variant);
    expect(JSON.parse(row.wording)).toMatchObject({ locale: 'en', question: row.variant === 'short' ? 'Happy?' : 'How satisfied were you?' });
  });

  it('when the webhook for a ticket is retried, then it is the same survey with the same variant', async () => {
    const payload = ticketPayload({ locale: 'de' });
    const timestamp = Math.floor(Date.now() / 1000);
    const first = await t.postWebhook(payload, { timestamp });
    const again = await t.postWebhook(payload, { timestamp: timestamp + 1 }); // retried, signed afresh (an identical request would be a replay)
    expect(again.body).toEqual({ survey_id: first.body.survey_id, status: 'duplicate' });
    expect(await t.count('surveys')).toBe(1);
  });

  it('when another instance on another database sees the same tickets, then it assigns the same variants', async () => {
    const other = await bootApp({ SURVEYS_FILE: file });
    try {
      const payloads = Array.from({ length: 30 }, (_, i) => ticketPayload({ ticket_id: `SAME-${i}`, customer: { email: `c${i}@example.com` } }));
      const variantsOn = async (app: TestApp) => {
        const out: string[] = [];
        for (const p of payloads) out.push((await app.db('surveys').where({ id: (await app.postWebhook(p)).body.survey_id }).first()).variant);
        return out;
      };
      const here = await variantsOn(t);
      expect(await variantsOn(other)).toEqual(here);
      expect(new Set(here)).toEqual(new Set(['control', 'short']));
      expect(here).toEqual(payloads.map((p) => chooseVariant([{ id: 'control', weight: 50 }, { id: 'short', weight: 50 }], 'handling', p.ticket_id)));
    } finally {
      await other.close();
    }
  });
});
