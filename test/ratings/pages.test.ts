import request from 'supertest';
import { renderSurveyEmail } from '../../src/delivery/render';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { ratingLinks } from '../helpers/smtp';
import { DAY_MS, linkEvents, ratingEvents, surveyRow, surveyWithToken } from './fixtures';

const NASTY_NAME = 'Ann <script>alert("name")</script> O\'Hara';
const NASTY_SUBJECT = '"Refund" <img src=x onerror="alert(1)"> & more';

/** True when no markup from the payload survived into the HTML as markup. */
const hasNoInjectedMarkup = (html: string) => !/<script>alert|<img|onerror="/i.test(html);

/** The page's content without the shared layout's CSS, whose selectors mention buttons and scores. */
const main = (html: string) => html.slice(html.indexOf('<main>'), html.indexOf('</main>'));

function expectPageHeaders(res: request.Response) {
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}

describe('rating pages', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T10:05:00Z'));
    t = await bootApp({ TOKEN_TTL_DAYS: '2' }, clock);
  });
  afterEach(() => t.close());

  it('when link 4 is opened, then the page shows "4 – Satisfied" selected with a confirm form and a visibility-gated auto-POST', async () => {
    const { surveyId, token } = await surveyWithToken(t);
    const res = await request(t.app).get(`/r/${token}/4`);

    expect(res.status).toBe(200);
    expectPageHeaders(res);
    const html = res.text;
    expect(html).toContain('<strong>4 – Satisfied</strong>');
    expect(html).toMatch(new RegExp(`<form id="rate-form" method="post" action="/r/${token}"`));
    expect(html).toContain('<input type="hidden" name="score" value="4">');
    expect(html).toMatch(/<button type="submit"[^>]*>Confirm rating<\/button>/);
    expect(main(html).match(/aria-pressed="true"/g)).toHaveLength(1);
    expect(html).toMatch(/<button[^>]*value="4" class="selected" aria-pressed="true">4 – Satisfied<\/button>/);
    const script = html.slice(html.indexOf('<script nonce='), html.indexOf('</script>'));
    expect(script).toContain("document.visibilityState !== 'visible'");
    expect(script).toContain("addEventListener('visibilitychange'");
    expect(script).toContain("method: 'POST'");
    expect((await surveyRow(t, surveyId)).score).toBeNull();
  });

  it('when an unrated survey page is opened, then it asks the question with five buttons and no auto-POST', async () => {
    const { token } = await surveyWithToken(t);
    const res = await request(t.app).get(`/r/${token}`);
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    expect(res.text).toContain('How satisfied were you with the handling of your issue?');
    expect(res.text.match(/<button type="submit" name="score" value="[1-5]"/g)).toHaveLength(5);
    expect(res.text).toContain(`action="/r/${token}"`);
    expect(res.text).not.toContain('<script');
    expect(main(res.text)).not.toContain('aria-pressed');
  });

  it('when a rated survey page is opened, then it thanks, shows the rating and offers the comment form with no-store headers', async () => {
    const { token } = await surveyWithToken(t);
    await request(t.app).post(`/r/${token}`).type('form').send('score=4').expect(303);
    const res = await request(t.app).get(`/r/${token}`);
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    expect(res.text).toContain('Thank you! Your rating has been recorded.');
    expect(res.text).toContain('<strong>4 – Satisfied</strong>');
    expect(res.text).toMatch(new RegExp(`<form method="post" action="/r/${token}">\\s*<input type="hidden" name="score" value="4">`));
    expect(res.text).toContain('<textarea id="comment" name="comment" maxlength="2000">');
  });

  it('when a comment carries markup, then the thanks page shows it escaped', async () => {
    const { token } = await surveyWithToken(t);
    const comment = '</textarea><script>alert("x")</script> & \'quoted\'';
    await request(t.app).post(`/r/${token}`).send({ score: 1, comment }).expect(200);
    const res = await request(t.app).get(`/r/${token}`);
    expect(res.text).toContain('&lt;/textarea&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;</textarea>');
    expect(res.text).not.toContain('<script>alert');
  });

  it('when the customer name and subject carry markup, then no rating page shows them at all', async () => {
    const { token } = await surveyWithToken(t, {
      customer: { email: 'ann.hara@example.com', name: NASTY_NAME },
      subject: NASTY_SUBJECT,
    });
    const pages = [await request(t.app).get(`/r/${token}/2`), await request(t.app).get(`/r/${token}`)];
    await request(t.app).post(`/r/${token}`).send({ score: 2 }).expect(200);
    pages.push(await request(t.app).get(`/r/${token}`));
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(hasNoInjectedMarkup(page.text)).toBe(true);
      for (const secret of ['ann.hara@example.com', 'Ann', 'Refund', 'Ada Lovelace', 'billing']) expect(page.text).not.toContain(secret);
    }
  });

  describe('when the link is not valid', () => {
    const unknownToken = 'Q'.repeat(43);
    const malformed = ['short', 'x'.repeat(44), 'a'.repeat(42) + '%2B', '%3Cscript%3Ealert(1)%3C%2Fscript%3E'];

    it('when a well-formed but unknown token is used, then GET and POST answer a 404 page that reveals nothing', async () => {
      await surveyWithToken(t);
      const responses = [
        await request(t.app).get(`/r/${unknownToken}/3`),
        await request(t.app).get(`/r/${unknownToken}`),
        await request(t.app).post(`/r/${unknownToken}`).type('form').send('score=3'),
      ];
      for (const res of responses) {
        expect(res.status).toBe(404);
        expectPageHeaders(res);
        expect(res.text).toContain('This link is not valid.');
        expect(res.text).not.toContain(unknownToken);
        expect(main(res.text)).not.toMatch(/ann@example\.com|Ann|Refund|Ada|billing|score|form/);
      }
      expect(await t.count('link_events')).toBe(0);
      expect(await t.count('rating_events')).toBe(0);
    });

    it('when a real token has one character changed, then it answers 404', async () => {
      const { token } = await surveyWithToken(t);
      const altered = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
      const res = await request(t.app).get(`/r/${altered}/5`);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(altered);
    });

    it('when a malformed token is used, then it answers a 404 page that does not echo it', async () => {
      for (const token of malformed) {
        for (const res of [await request(t.app).get(`/r/${token}/3`), await request(t.app).get(`/r/${token}`)]) {
          expect(res.status).toBe(404);
          expect(res.text).toContain('This link is not valid.');
          expect(res.text).not.toContain(token);
          expect(res.text).not.toContain(decodeURIComponent(token));
        }
      }
    });

    it('when a JSON client uses an unknown token, then it gets a JSON 404', async () => {
      const res = await request(t.app).post(`/r/${unknownToken}`).send({ score: 3 });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'not_found' });
    });
  });

  describe('expiry', () => {
    it('when the token is issued, then it expires TOKEN_TTL_DAYS later and is stored only as a sha256 hash', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      const row = await t.db('survey_tokens').where({ survey_id: surveyId }).first();
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.token_hash).not.toContain(token);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Number(row.expires_at) - Number(row.created_at)).toBe(2 * DAY_MS);
      expect(Number(row.created_at)).toBe(clock.now().getTime());
    });

    it('when TOKEN_TTL_DAYS have almost passed, then the links still work', async () => {
      const { token } = await surveyWithToken(t);
      clock.advance(2 * DAY_MS - 1000);
      await request(t.app).get(`/r/${token}/3`).expect(200);
      await request(t.app).post(`/r/${token}`).send({ score: 3 }).expect(200);
    });

    it('when TOKEN_TTL_DAYS have passed, then GET and POST answer a 410 "survey has closed" page and nothing is stored', async () => {
      const { surveyId, token } = await surveyWithToken(t);
      clock.advance(2 * DAY_MS);
      const pages = [
        await request(t.app).get(`/r/${token}/3`),
        await request(t.app).get(`/r/${token}`),
        await request(t.app).post(`/r/${token}`).type('form').send('score=3'),
      ];
      for (const res of pages) {
        expect(res.status).toBe(410);
        expectPageHeaders(res);
        expect(res.text).toContain('This survey has closed.');
        expect(res.text).not.toContain(token);
      }
      const json = await request(t.app).post(`/r/${token}`).send({ score: 3 });
      expect([json.status, json.body]).toEqual([410, { error: 'survey_closed' }]);
      expect(await linkEvents(t, surveyId)).toEqual([]);
      expect(await ratingEvents(t, surveyId)).toEqual([]);
      expect((await surveyRow(t, surveyId)).score).toBeNull();
    });

    it('when the token of a rated survey expires, then its thanks page also answers 410', async () => {
      const { token } = await surveyWithToken(t);
      await request(t.app).post(`/r/${token}`).send({ score: 5 }).expect(200);
      clock.advance(3 * DAY_MS);
      const res = await request(t.app).get(`/r/${token}`);
      expect(res.status).toBe(410);
      expect(res.text).toContain('This survey has closed.');
    });
  });

  it('when the email is rendered for a customer name and subject with markup and quotes, then the HTML escapes them', async () => {
    const { surveyId, token } = await surveyWithToken(t, { customer: { email: 'ann@example.com', name: NASTY_NAME }, subject: NASTY_SUBJECT });
    const survey = await t.services.surveys.getSurvey(surveyId);
    const { html } = renderSurveyEmail(t.services.views, survey!, token, t.config.publicUrl);
    expect(hasNoInjectedMarkup(html)).toBe(true);
    expect(html).toContain('Hi Ann &lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; O&#x27;Hara,');
    expect(html).toContain('&quot;Refund&quot; &lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt; &amp; more');
    expect(html).toContain(`href="${PUBLIC_URL}/r/${token}/check"`);
  });

  it('when the text part is rendered for the same data, then it shows the characters as written, not HTML entities', async () => {
    const { surveyId, token } = await surveyWithToken(t, { customer: { email: 'ann@example.com', name: "Ann & Bo O'Hara" }, subject: '"Refund" & more' });
    const survey = await t.services.surveys.getSurvey(surveyId);
    const { text } = renderSurveyEmail(t.services.views, survey!, token, t.config.publicUrl);
    expect(text).toContain("Hi Ann & Bo O'Hara,");
    expect(text).toContain('"Refund" & more');
    expect(text).not.toMatch(/&amp;|&quot;|&#x27;/);
  });
});

describe('survey email with hostile customer data through a real SMTP server', () => {
  let t: MailApp;

  beforeEach(async () => {
    t = await bootWithSmtp();
  });
  afterEach(() => t.close());

  it('when the name and subject carry markup, then the delivered HTML escapes them and its links lead to clean pages', async () => {
    const res = await t.postWebhook({
      ticket_id: `T-nasty-${process.pid}`,
      customer: { email: 'ann@example.com', name: NASTY_NAME },
      agent: { id: 'a-7', name: 'Ada <b>Lovelace</b>' },
      subject: NASTY_SUBJECT,
    });
    expect(res.status).toBe(202);
    expect(await t.services.worker.drain()).toBe(1);
    const [mail] = await t.smtp.waitForMessages(1);

    const html = String(mail.html);
    expect(hasNoInjectedMarkup(html)).toBe(true);
    expect(html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;');
    expect(html).toContain('&quot;Refund&quot; &lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt; &amp; more');
    expect(html).not.toContain('Lovelace');

    const links = ratingLinks(mail);
    expect(links).toHaveLength(5);
    const token = links[0].split('/')[4];
    expect(html).toContain(`href="${PUBLIC_URL}/r/${token}/check"`);
    const page = await request(t.app).get(new URL(links[2]).pathname);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>3 – Neutral</strong>');
    expect(hasNoInjectedMarkup(page.text)).toBe(true);
    expect(page.text).not.toMatch(/Ann|Refund|Lovelace/);
  });
});
