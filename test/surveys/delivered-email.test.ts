import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { renderSurveyEmail } from '../../src/delivery/render';
import { loadDefinitions } from '../../src/surveys/definitions';
import { createViews } from '../../src/shared/views';
import { PUBLIC_URL, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { ratingLinks } from '../helpers/smtp';
import { deliverOne, html, SHIPPED_SURVEYS, SHIPPED_TEMPLATES, tempDir } from './fixtures';

const shipped = loadDefinitions(SHIPPED_SURVEYS);
const words = (locale: string) => shipped.questions.find((q) => q.id === shipped.default)!.locales[locale];
const bytes = (s: unknown) => Buffer.byteLength(String(s), 'utf8');

describe('the delivered survey email in the customer\'s language (shipped definitions, real SMTP)', () => {
  let t: MailApp;
  beforeAll(async () => {
    t = await bootWithSmtp();
  });
  afterAll(() => t.close());

  it('when a de ticket closes, then the email is German, lang="de", with German labels and no English question', async () => {
    const de = words('de');
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ locale: 'de', customer: { email: 'dora@example.com', name: 'Dora' } }));
    expect(mail.subject).toBe(de.subject);
    expect(mail.html).toContain('<html lang="de">');
    expect(mail.html).toContain(html(de.intro));
    expect(mail.html).toContain(html(de.question));
    for (const score of [1, 2, 3, 4, 5] as const) {
      expect(mail.text).toContain(`${score} - ${de.labels[score]}`);
      expect(mail.html).toContain(`${score} – ${html(de.labels[score])}</a>`);
    }
    expect(mail.text).toContain(de.one_click);
    for (const english of [words('en').question, words('en').labels[5], words('en').one_click]) {
      expect(mail.text).not.toContain(english);
      expect(mail.html).not.toContain(html(english!));
    }
  });

  it('when a de ticket\'s link is followed, then the page is German and the rating and thanks work', async () => {
    const de = words('de');
    const { mail, surveyId } = await deliverOne(t, t.smtp, ticketPayload({ locale: 'de-DE', customer: { email: 'dirk@example.com' } }));
    const link = new URL(ratingLinks(mail)[4]);
    expect(link.origin).toBe(PUBLIC_URL);
    const page = await request(t.app).get(link.pathname);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html lang="de">');
    expect(page.text).toContain(`<h1>${html(de.question)}</h1>`);
    expect(page.text).toContain(`5 – ${html(de.labels[5])}`);
    expect(page.text).toContain('Bewertung bestätigen');

    const token = link.pathname.split('/')[2];
    const saved = await request(t.app).post(`/r/${token}`).send({ score: 5 });
    expect(saved.body).toEqual({ status: 'recorded', score: 5, comment: null });
    const thanks = await request(t.app).get(`/r/${token}`);
    expect(thanks.text).toContain(`<h1>${html(de.thanks)}</h1>`);
    expect(thanks.text).toContain(html(de.comment_prompt!));
    expect(thanks.text).toContain('Kommentar senden');
    expect((await t.db('surveys').where({ id: surveyId }).first()).score).toBe(5);
  });

  it.each(['fr', 'es'])('when a %s ticket closes, then the email and its page are in that language', async (locale) => {
    const w = words(locale);
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ locale, customer: { email: `${locale}@example.com` } }));
    expect(mail.subject).toBe(w.subject);
    expect(mail.html).toContain(`<html lang="${locale}">`);
    expect(mail.text).toContain(w.question);
    expect(mail.text).toContain(`1 - ${w.labels[1]}`);
    const page = await request(t.app).get(new URL(ratingLinks(mail)[0]).pathname);
    expect(page.text).toContain(`<html lang="${locale}">`);
    expect(page.text).toContain(html(w.question));
  });

  it('when a pt ticket closes, then the email falls back to en', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ locale: 'pt-BR', customer: { email: 'paulo@example.com' } }));
    expect(mail.subject).toBe(words('en').subject);
    expect(mail.html).toContain('<html lang="en">');
  });

  it('when a de, fr or es email greets the customer by name, then the greeting is not English', async () => {
    // The greeting is written into templates/email/*.hbs as "Hi {{customerName}},": the survey file has no field for it.
    for (const locale of ['de', 'fr', 'es']) {
      const { mail } = await deliverOne(t, t.smtp, ticketPayload({ locale, customer: { email: `greet-${locale}@example.com`, name: 'Ann' } }));
      expect([locale, String(mail.text).includes('Hi Ann,'), String(mail.html).includes('Hi Ann,')]).toEqual([locale, false, false]);
    }
  });
});

describe('user data in the email', () => {
  let t: MailApp;
  beforeAll(async () => {
    t = await bootWithSmtp();
  });
  afterAll(() => t.close());

  it('when the customer name and ticket subject hold markup, then the HTML shows it as text and the text part unchanged', async () => {
    const name = 'Ann <script>alert("x")</script> & "Co"';
    const subject = '<img src=x onerror=alert(1)> "Refund" & <b>more</b>';
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'ann@example.com', name }, subject }));
    const body = String(mail.html);
    expect(body).toContain(html(name));
    expect(body).toContain(html(subject));
    expect(body).not.toMatch(/<script|<img src=x|onerror=|<b>more/i);
    expect(mail.text).toContain(`Hi ${name},`);
    expect(mail.text).toContain(`"${subject}"`);
    expect(mail.text).not.toContain('&lt;');
    expect(mail.to).toMatchObject({ value: [{ address: 'ann@example.com' }] });
  });

  it('when an email is delivered, then its HTML is under 100 kB', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'size@example.com', name: 'Ann' } }));
    expect(bytes(mail.html)).toBeLessThan(100_000);
  });

  it('when every text is as long as allowed and made of characters that grow when escaped, then the HTML is still under 100 kB', () => {
    const views = createViews(SHIPPED_TEMPLATES);
    const fill = (n: number) => '"<&'.repeat(Math.ceil(n / 3)).slice(0, n);
    const wording = {
      locale: 'en',
      subject: fill(200),
      intro: fill(500),
      question: fill(300),
      labels: { 1: fill(60), 2: fill(60), 3: fill(60), 4: fill(60), 5: fill(60) },
      thanks: fill(300),
      comment_prompt: fill(300),
      one_click: fill(300),
    };
    const email = renderSurveyEmail(views, { wording, brand: 'acme', customerName: fill(200), subject: fill(500) }, 'x'.repeat(43), PUBLIC_URL, {
      sender_name: fill(100),
      logo_url: `https://acme.example/${'a'.repeat(2000)}.png`,
      accent_color: '#d9480f',
    });
    expect(email.html).toContain(html(fill(500)));
    expect(bytes(email.html)).toBeLessThan(100_000);
  });
});

describe('TEMPLATES_DIR pointing at a modified copy of templates/', () => {
  const tmp = tempDir('closeloop-templates-');
  const copy = path.join(tmp.dir, 'templates');
  let t: MailApp;
  beforeAll(async () => {
    fs.cpSync(SHIPPED_TEMPLATES, copy, { recursive: true });
    const edit = (file: string, from: string, to: string) => {
      const full = path.join(copy, file);
      const source = fs.readFileSync(full, 'utf8');
      if (!source.includes(from)) throw new Error(`${file} no longer contains ${from}`);
      fs.writeFileSync(full, source.replace(from, to));
    };
    edit('email/survey.html.hbs', '<h1 ', '<p class="ops">Restyled by ops for {{customerName}}</p>\n<h1 ');
    edit('email/survey.text.hbs', '{{question}}', 'RESTYLED TEXT\n{{question}}');
    edit('pages/rate.hbs', '<h1>', '<p class="ops">Restyled page</p>\n<h1>');
    t = await bootWithSmtp({ TEMPLATES_DIR: copy });
  });
  afterAll(async () => {
    await t.close();
    tmp.cleanup();
  });

  it('when an email is sent, then it uses the copy (HTML and text), still escaping user data', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'ops@example.com', name: '<i>Ann</i>' } }));
    expect(mail.html).toContain(`<p class="ops">Restyled by ops for ${html('<i>Ann</i>')}</p>`);
    expect(mail.text).toContain('RESTYLED TEXT');
    expect(ratingLinks(mail)).toHaveLength(5);
  });

  it('when a rating page is opened, then it uses the copy too', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ customer: { email: 'ops2@example.com' } }));
    const page = await request(t.app).get(new URL(ratingLinks(mail)[2]).pathname);
    expect(page.text).toContain('<p class="ops">Restyled page</p>');
  });

  it('when the shipped templates are used, then none of that appears', () => {
    const views = createViews(SHIPPED_TEMPLATES);
    const email = renderSurveyEmail(views, { wording: { ...words('en'), locale: 'en' }, brand: null, customerName: 'Ann', subject: null }, 'x'.repeat(43), PUBLIC_URL);
    expect(email.html).not.toContain('Restyled');
    expect(email.text).not.toContain('RESTYLED');
  });
});
