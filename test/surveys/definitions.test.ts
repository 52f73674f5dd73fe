import path from 'node:path';
import { DefinitionsError, loadDefinitions, parseDefinitions } from '../../src/surveys/definitions';
import { faultsOf, SHIPPED_SURVEYS, tempDir, validWith, VALID_LINES } from './fixtures';

// Every fault names `file:line: field: message`. The lines below count from 1 in VALID_LINES
// (see fixtures.ts), so each expectation can be checked by reading the fixture.

describe('survey definitions file: a valid file', () => {
  it('when the fixture file is parsed, then it yields its questions, variants, rules and brands', () => {
    const defs = parseDefinitions(validWith());
    expect(defs.default).toBe('handling');
    expect(defs.questions.map((q) => q.id)).toEqual(['handling']);
    expect(Object.keys(defs.questions[0].locales)).toEqual(['en', 'de']);
    expect(defs.questions[0].locales.de.labels).toEqual({ 1: 'Furchtbar', 2: 'Schlecht', 3: 'Okay', 4: 'Gut', 5: 'Toll' });
    expect(defs.questions[0].variants).toEqual([
      { id: 'control', weight: 50 },
      { id: 'short', weight: 50, locales: { en: { question: 'Happy?' }, de: { question: 'Zufrieden?' } } },
    ]);
    expect(defs.rules).toEqual([{ team: 'billing', question: 'handling' }]);
    expect(defs.brands.acme).toEqual({
      sender_name: 'Acme Support',
      sender_address: 'support@acme.example',
      logo_url: 'https://acme.example/logo.png',
      accent_color: '#d9480f',
    });
  });

  it('when rules and brands are left out, then they default to none', () => {
    const defs = parseDefinitions(VALID_LINES.slice(0, 16).join('\n'));
    expect(defs.rules).toEqual([]);
    expect(defs.brands).toEqual({});
    expect(defs.questions[0].variants).toBeUndefined();
  });

  it('when the shipped config/surveys.yml is loaded, then its default question has en, de, fr and es, each complete and translated', () => {
    const defs = loadDefinitions(SHIPPED_SURVEYS);
    const question = defs.questions.find((q) => q.id === defs.default);
    expect(question).toBeDefined();
    const locales = question!.locales;
    expect(Object.keys(locales).sort()).toEqual(['de', 'en', 'es', 'fr']);
    for (const locale of ['en', 'de', 'fr', 'es']) {
      const w = locales[locale];
      for (const field of ['subject', 'intro', 'question', 'thanks', 'comment_prompt', 'one_click'] as const) expect(w[field]).toEqual(expect.any(String));
      expect(Object.keys(w.labels)).toEqual(['1', '2', '3', '4', '5']);
    }
    for (const locale of ['de', 'fr', 'es']) {
      expect(locales[locale].question).not.toBe(locales.en.question);
      expect(locales[locale].thanks).not.toBe(locales.en.thanks);
      expect(locales[locale].labels[5]).not.toBe(locales.en.labels[5]);
    }
  });
});

describe('survey definitions file: each kind of fault names file, line and field', () => {
  it('when the YAML itself is broken, then the message names the line of the syntax error', () => {
    // Line 4 holds a nested mapping in a compact one, which YAML forbids.
    const source = ['default: handling', 'questions:', '  - id: handling', '    locales: en: x', ''].join('\n');
    expect(faultsOf(source)).toEqual(['surveys.yml:4: Nested mappings are not allowed in compact mappings']);
  });

  it('when a key is repeated in one mapping, then the message names the line of the repeat', () => {
    expect(faultsOf(validWith({ 10: ['        thanks: Thanks a lot!', '        thanks: Thanks again!'] }))).toEqual(['surveys.yml:11: Map keys must be unique']);
  });

  it('when the file is empty, then it says a mapping was expected at line 1', () => {
    expect(faultsOf('')).toEqual(['surveys.yml:1: (file): Invalid input: expected object, received null']);
  });

  it('when a required field is missing, then its parent mapping\'s line and the field are named as missing', () => {
    // thanks (line 10) removed: the fault points at the en mapping, which starts on line 6.
    expect(faultsOf(validWith({ 10: null }))).toEqual(['surveys.yml:6: questions.0.locales.en.thanks: Invalid input: expected string, received undefined']);
  });

  it('when a text is empty or only spaces, then its line says "must not be empty"', () => {
    expect(faultsOf(validWith({ 13: '        intro: "   "' }))).toEqual(['surveys.yml:13: questions.0.locales.de.intro: must not be empty']);
    expect(faultsOf(validWith({ 15: '        labels: { 1: Furchtbar, 2: Schlecht, 3: "", 4: Gut, 5: Toll }' }))).toEqual([
      'surveys.yml:15: questions.0.locales.de.labels.3: must not be empty',
    ]);
  });

  it('when a scale label is missing or a sixth is added, then the labels line names it', () => {
    expect(faultsOf(validWith({ 9: '        labels: { 1: Awful, 2: Poor, 3: Okay, 4: Good }' }))).toEqual(['surveys.yml:9: questions.0.locales.en.labels.5: Invalid input: expected string, received undefined']);
    expect(faultsOf(validWith({ 9: '        labels: { 1: Awful, 2: Poor, 3: Okay, 4: Good, 5: Great, 6: Superb }' }))).toEqual([
      "surveys.yml:9: questions.0.locales.en.labels: Unrecognized key: \"6\"",
    ]);
  });

  it('when an id has capitals or spaces, then its line says which characters are allowed', () => {
    expect(faultsOf(validWith({ 19: '      - id: Short Version' }))).toEqual([
      'surveys.yml:19: questions.0.variants.1.id: must be 1-64 characters: a-z, 0-9, _ and -',
    ]);
    expect(faultsOf(validWith({ 3: '  - id: Handling' }))).toContain('surveys.yml:3: questions.0.id: must be 1-64 characters: a-z, 0-9, _ and -');
  });

  it('when a locale key is not a locale, then its line says so', () => {
    expect(faultsOf(validWith({ 11: '      german:' }))).toContain('surveys.yml:12: questions.0.locales.german: must be a locale like en, de or pt-BR');
  });

  it('when a question has no en wording, then the locales line says en is required as the fallback', () => {
    // The en block (lines 5-10) and the variant's en line (22) removed: locales now start with de: on line 5.
    const source = validWith({ 5: null, 6: null, 7: null, 8: null, 9: null, 10: null, 22: null });
    expect(faultsOf(source)).toEqual(['surveys.yml:5: questions.0.locales: must include en, the fallback locale']);
  });

  it('when two questions share an id, then the second one\'s line says it is defined twice', () => {
    const second = ['  - id: handling', '    locales:', '      en: { subject: S, intro: I, question: Q, labels: { 1: a, 2: b, 3: c, 4: d, 5: e }, thanks: T }'];
    expect(faultsOf(validWith({ 23: [VALID_LINES[22], ...second] }))).toEqual(['surveys.yml:24: questions.1.id: "handling" is defined twice']);
  });

  it('when two variants of a question share an id, then the second one\'s line says it is defined twice', () => {
    expect(faultsOf(validWith({ 19: '      - id: control' }))).toEqual(['surveys.yml:19: questions.0.variants.1.id: "control" is defined twice']);
  });

  it('when default names no question, then line 1 says so', () => {
    expect(faultsOf(validWith({ 1: 'default: handlin' }))).toEqual(['surveys.yml:1: default: names no question ("handlin")']);
  });

  it('when a rule names no question, then the rule\'s line says so', () => {
    expect(faultsOf(validWith({ 25: '  - { team: billing, question: billing_q }' }))).toEqual(['surveys.yml:25: rules.0.question: names no question ("billing_q")']);
  });

  it('when a rule has no condition, then the rule\'s line asks for brand, team or tags', () => {
    expect(faultsOf(validWith({ 25: '  - { question: handling }' }))).toEqual(['surveys.yml:25: rules.0: needs at least one of brand, team, tags']);
    expect(faultsOf(validWith({ 25: '  - { tags: [], question: handling }' }))).toEqual(['surveys.yml:25: rules.0.tags: Too small: expected array to have >=1 items']);
  });

  it('when a variant lacks a locale of its question, then the variant\'s locales line names the missing locale', () => {
    expect(faultsOf(validWith({ 23: null }))).toEqual(['surveys.yml:22: questions.0.variants.1.locales: must cover every locale of the question (missing de)']);
  });

  it('when a variant has a locale its question lacks, then that locale\'s line says so', () => {
    expect(faultsOf(validWith({ 23: [VALID_LINES[22], '          fr: { question: Content ? }'] }))).toEqual([
      'surveys.yml:24: questions.0.variants.1.locales.fr: is not a locale of the question',
    ]);
  });

  it('when a variant empties a field, then that line says "must not be empty"', () => {
    expect(faultsOf(validWith({ 22: '          en: { question: "" }' }))).toEqual(['surveys.yml:22: questions.0.variants.1.locales.en.question: must not be empty']);
  });

  it('when a weight is zero, negative or not a number, then the weight line says so', () => {
    expect(faultsOf(validWith({ 20: '        weight: 0' }))).toEqual(['surveys.yml:20: questions.0.variants.1.weight: must be more than 0']);
    expect(faultsOf(validWith({ 20: '        weight: -5' }))).toEqual(['surveys.yml:20: questions.0.variants.1.weight: must be more than 0']);
    expect(faultsOf(validWith({ 20: '        weight: fifty' }))).toEqual(['surveys.yml:20: questions.0.variants.1.weight: Invalid input: expected number, received string']);
    expect(faultsOf(validWith({ 18: '      - { id: control }' }))).toEqual(['surveys.yml:18: questions.0.variants.0.weight: Invalid input: expected number, received undefined']);
  });

  it('when a brand accent colour is not #rrggbb, then its line shows an example', () => {
    for (const colour of ['red', '"#fff"', '"#12345g"', '"#1f4fbf; background:url(x)"']) {
      expect(faultsOf(validWith({ 31: `    accent_color: ${colour}` }))).toEqual(['surveys.yml:31: brands.acme.accent_color: must be a colour like #1f4fbf']);
    }
  });

  it('when a brand logo URL is not https, then its line says it must be https', () => {
    for (const url of ['http://acme.example/logo.png', '"javascript:alert(1)"', 'data:image/png;base64,AAAA']) {
      expect(faultsOf(validWith({ 30: `    logo_url: ${url}` }))).toEqual(['surveys.yml:30: brands.acme.logo_url: must be an https:// URL']);
    }
    expect(faultsOf(validWith({ 30: '    logo_url: not a url' }))).toContain('surveys.yml:30: brands.acme.logo_url: must be an https:// URL');
  });

  it('when a brand sender address is not an email address, then its line says so', () => {
    expect(faultsOf(validWith({ 29: '    sender_address: support.acme.example' }))).toEqual(['surveys.yml:29: brands.acme.sender_address: must be an email address']);
    expect(faultsOf(validWith({ 28: '    sender_name: ""' }))).toEqual(['surveys.yml:28: brands.acme.sender_name: must not be empty']);
  });

  it('when a wording has an unknown key, then the message names the key and the line it is on', () => {
    // "thank_you" (line 11) is a typo the strict schema must catch, at the line the typo is on.
    expect(faultsOf(validWith({ 10: [VALID_LINES[9], '        thank_you: Cheers!'] }))).toEqual([
      "surveys.yml:11: questions.0.locales.en: Unrecognized key: \"thank_you\"",
    ]);
  });

  it('when the file has an unknown top-level key, then the message names the key and the line it is on', () => {
    expect(faultsOf(validWith({}, ['colour: blue']))).toEqual(['surveys.yml:32: (file): Unrecognized key: "colour"']);
  });

  it('when a variant or a brand has an unknown key, then the message names the key', () => {
    expect(faultsOf(validWith({ 20: ['        weight: 50', '        colour: red'] }))).toEqual([
      expect.stringMatching(/^surveys\.yml:\d+: questions\.0\.variants\.1: Unrecognized key: "colour"$/),
    ]);
    expect(faultsOf(validWith({ 31: [VALID_LINES[30], '    accent_colour: "#000000"'] }))).toEqual([
      expect.stringMatching(/^surveys\.yml:\d+: brands\.acme: Unrecognized key: "accent_colour"$/),
    ]);
  });

  it('when a variant changes one scale label, then the file is accepted (a variant lists only what it changes)', () => {
    // README: "a variant lists only the fields it changes"; wordingFor merges labels key by key.
    const source = validWith({ 22: '          en: { labels: { 3: Neutral } }', 23: '          de: { labels: { 3: Neutral } }' });
    expect(() => parseDefinitions(source)).not.toThrow();
  });

  it('when a file has several faults, then every one is listed, each with its own line', () => {
    const faults = faultsOf(validWith({ 13: '        intro: ""', 20: '        weight: 0', 31: '    accent_color: blue' }));
    expect(faults).toEqual([
      'surveys.yml:13: questions.0.locales.de.intro: must not be empty',
      'surveys.yml:20: questions.0.variants.1.weight: must be more than 0',
      'surveys.yml:31: brands.acme.accent_color: must be a colour like #1f4fbf',
    ]);
  });

  describe('loadDefinitions', () => {
    const tmp = tempDir();
    afterAll(() => tmp.cleanup());

    it('when the file on disk is invalid, then the DefinitionsError names that file\'s path', () => {
      const file = tmp.write('bad.yml', validWith({ 14: '        question: ""' }));
      expect(() => loadDefinitions(file)).toThrow(DefinitionsError);
      expect(() => loadDefinitions(file)).toThrow(`Invalid survey definitions in ${file}:\n  ${file}:14: questions.0.locales.de.question: must not be empty`);
    });

    it('when the file does not exist, then the DefinitionsError says it cannot be read', () => {
      const file = path.join(tmp.dir, 'missing.yml');
      expect(() => loadDefinitions(file)).toThrow(new DefinitionsError(`Invalid survey definitions: cannot read ${file} (ENOENT)`));
    });
  });
});
