import request from 'supertest';
import { loadDefinitions } from '../../src/surveys/definitions';
import { bootApp, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { bearer, html, SHIPPED_SURVEYS, tempDir, validWith } from '../surveys/fixtures';

const shipped = loadDefinitions(SHIPPED_SURVEYS);
const shippedWords = (locale: string) => shipped.questions.find((q) => q.id === 'handling')!.locales[locale];

/** The rating links of a rendered email: [token, score] pairs from its hrefs (HTML) or URLs (text). */
const dummyLinks = (body: string) => [...body.matchAll(new RegExp(`${PUBLIC_URL}/r/([^/"\\s]+)/([1-5])\\b`, 'g'))].map((m) => [m[1], m[2]]);

describe('GET /preview/:question_id with the shipped definitions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp();
  });
  afterAll(() => t.close());

  const preview = (query: string) => request(t.app).get(`/preview/handling${query}`).set(bearer(t.config.reportsToken));

  it.each(['en', 'de', 'fr', 'es'])('when the %s preview is asked for as JSON, then it is that locale\'s email, HTML and text, with dummy links', async (locale) => {
    const w = shippedWords(locale);
    const res = await preview(`?locale=${locale}&format=json`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ question_id: 'handling', variant: null, locale, from: 'Closeloop <surveys@localhost>', subject: w.subject });
    expect(res.body.html).toContain(`<html lang="${locale}">`);
    expect(res.body.html).toContain(html(w.intro));
    expect(res.body.html).toContain(html(w.question));
    expect(res.body.text).toContain(w.question);
    for (const score of [1, 2, 3, 4, 5] as const) {
      expect(res.body.html).toContain(`${score} – ${html(w.labels[score])}</a>`);
      expect(res.body.text).toContain(`${score} - ${w.labels[score]}`);
    }
    for (const body of [res.body.html, res.body.text]) {
      const links = dummyLinks(body);
      expect(links.map(([, score]) => score)).toEqual(['1', '2', '3', '4', '5']);
      expect(new Set(links.map(([token]) => token)).size).toBe(1);
    }
  });

  it('when a dummy link of the preview is opened, then it leads nowhere and nothing is stored', async () => {
    const res = await preview('?locale=de&format=json');
    const [[token]] = dummyLinks(res.body.html);
    for (const path of [`/r/${token}/5`, `/r/${token}`]) expect((await request(t.app).get(path)).status).toBe(404);
    expect(await t.count('surveys')).toBe(0);
    expect(await t.count('survey_tokens')).toBe(0);
    expect(await t.count('link_events')).toBe(0);
  });

  it('when a browser asks for the preview, then the page frames the same HTML email (escaped in srcdoc) and the text', async () => {
    const json = await preview('?locale=fr&format=json');
    const page = await preview('?locale=fr').set('Accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('Preview of “handling”');
    expect(page.text).toContain(`<strong>Subject:</strong> ${html(json.body.subject)}`);
    expect(page.text).toContain(`<iframe title="HTML email" sandbox srcdoc="${html(json.body.html)}"`);
    expect(page.text).toContain(`<pre style="white-space:pre-wrap">${html(json.body.text)}</pre>`);
  });

  it('when the preview asks for a locale the question lacks, then it shows en and says so', async () => {
    const json = await preview('?locale=pt-BR&format=json');
    expect(json.body).toMatchObject({ locale: 'en', subject: shippedWords('en').subject });
    const page = await preview('?locale=pt-BR&format=html');
    expect(page.text).toContain('Asked for pt-BR; shown in en');
  });

  it('when de-AT is asked for, then the de email is shown', async () => {
    expect((await preview('?locale=de-AT&format=json')).body.locale).toBe('de');
  });

  it('when no credential or a wrong one is given, then it answers 401 and shows nothing', async () => {
    const none = await request(t.app).get('/preview/handling?format=json');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect(none.text).not.toContain(shippedWords('en').question);
    const wrong = await request(t.app).get('/preview/handling?format=json').set(bearer('not-the-reports-token-at-all'));
    expect(wrong.status).toBe(401);
    const basic = await request(t.app).get('/preview/handling?format=json').auth('lead', t.config.reportsToken);
    expect(basic.status).toBe(200);
  });

  it('when the question id is unknown, then it answers 404', async () => {
    const res = await request(t.app).get('/preview/nope?format=json').set(bearer(t.config.reportsToken));
    expect(res.status).toBe(404);
    expect(res.body.error).toBe('not_found');
  });

  it('when a variant is named for a question without variants, then it answers 400 naming the parameter', async () => {
    const res = await preview('?variant=continue&format=json');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_query', message: 'This question has no variants.', details: [{ path: 'variant' }] });
  });
});

describe('GET /preview/:question_id with variants and brands', () => {
  const tmp = tempDir();
  let t: TestApp;
  beforeAll(async () => {
    t = await bootApp({ SURVEYS_FILE: tmp.write('surveys.yml', validWith()), MAIL_FROM: 'Closeloop <surveys@closeloop.test>' });
  });
  afterAll(async () => {
    await t.close();
    tmp.cleanup();
  });

  const preview = (query: string) => request(t.app).get(`/preview/handling${query}`).set(bearer(t.config.reportsToken));

  it('when a variant is named, then its wording is shown in the locale asked for', async () => {
    const res = await preview('?variant=short&locale=de&format=json');
    expect(res.body).toMatchObject({ variant: 'short', locale: 'de', subject: 'Wie war unser Support?' });
    expect(res.body.text).toContain('Zufrieden?');
    expect(res.body.text).not.toContain('Wie zufrieden waren Sie?');
  });

  it('when no variant is named, then the control (first variant) is shown', async () => {
    const res = await preview('?format=json');
    expect(res.body).toMatchObject({ variant: 'control', locale: 'en' });
    expect(res.body.text).toContain('How satisfied were you?');
  });

  it('when an unknown variant is named, then it answers 400 listing the variants', async () => {
    const res = await preview('?variant=long&format=json');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_query', message: 'This question has variants control, short.' });
  });

  it('when a brand is named, then the preview has its sender and logo', async () => {
    const res = await preview('?brand=acme&format=json');
    expect(res.body.from).toBe('"Acme Support" <support@acme.example>');
    expect(res.body.html).toContain('<img src="https://acme.example/logo.png" alt="Acme Support"');
    const plain = await preview('?format=json');
    expect(plain.body.from).toBe('Closeloop <surveys@closeloop.test>');
    expect(plain.body.html).not.toContain('<img');
  });
});
