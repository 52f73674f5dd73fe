import path from 'node:path';
import request from 'supertest';
import { chooseVariant } from '../../src/surveys/questions';
import { ticketPayload } from '../helpers/boot';
import { ratingLinks, startSmtpServer, type SmtpTestServer } from '../helpers/smtp';
import { bearer, bootOn, html, tempDir, validWith } from './fixtures';

// Before the edit: the fixture file (variants control/short). After: new en and de words and no variants.
const BEFORE = validWith();
const AFTER = validWith({
  8: '        question: How did we do today?',
  9: '        labels: { 1: Bad, 2: Meh, 3: Fine, 4: Nice, 5: Superb }',
  10: '        thanks: Cheers, noted!',
  14: '        question: Wie haben wir uns geschlagen?',
  16: '        thanks: Danke, notiert!',
  17: null,
  18: null,
  19: null,
  20: null,
  21: null,
  22: null,
  23: null,
});
const SPLIT = [{ id: 'control', weight: 50 }, { id: 'short', weight: 50 }];

/** A ticket id that the fixture's 50/50 split sends to `variant`. */
function ticketIdIn(variant: string, prefix: string): string {
  for (let i = 0; ; i++) if (chooseVariant(SPLIT, 'handling', `${prefix}-${i}`) === variant) return `${prefix}-${i}`;
}

describe('the wording a survey was sent with is frozen on it', () => {
  const tmp = tempDir('closeloop-frozen-');
  const dbFile = path.join(tmp.dir, 'shared.sqlite');
  const before = tmp.write('before.yml', BEFORE);
  const after = tmp.write('after.yml', AFTER);
  let smtp: SmtpTestServer;
  let sent: { en: { id: string; link: string }; de: { id: string; link: string } };

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const first = await bootOn(dbFile, { SURVEYS_FILE: before, SMTP_URL: smtp.url });
    try {
      const en = await first.postWebhook(ticketPayload({ ticket_id: ticketIdIn('short', 'FROZEN-EN'), customer: { email: 'en@example.com', name: 'Ann' }, locale: 'en-GB' }));
      const de = await first.postWebhook(ticketPayload({ ticket_id: ticketIdIn('control', 'FROZEN-DE'), customer: { email: 'de@example.com', name: 'Dora' }, locale: 'de-AT' }));
      expect([en.status, de.status]).toEqual([202, 202]);
      await first.services.worker.drain();
      const mails = await smtp.waitForMessages(2);
      const linkFor = (address: string) => ratingLinks(mails.find((m) => m.to && !Array.isArray(m.to) && m.to.value[0].address === address)!)[4];
      sent = { en: { id: en.body.survey_id, link: linkFor('en@example.com') }, de: { id: de.body.survey_id, link: linkFor('de@example.com') } };
    } finally {
      await first.close();
    }
  });
  afterAll(async () => {
    await smtp.close();
    tmp.cleanup();
  });

  let app: Awaited<ReturnType<typeof bootOn>>;
  beforeEach(async () => {
    app = await bootOn(dbFile, { SURVEYS_FILE: after, SMTP_URL: smtp.url });
  });
  afterEach(() => app.close());

  const localPath = (link: string) => new URL(link).pathname;

  it('when the file was edited after sending, then the stored wording is still the one sent, with its variant', async () => {
    const en = await app.db('surveys').where({ id: sent.en.id }).first();
    expect(en.question_id).toBe('handling');
    expect(en.variant).toBe('short');
    expect(JSON.parse(en.wording)).toEqual({
      locale: 'en',
      subject: 'How was our support?',
      intro: 'Your ticket was closed.',
      question: 'Happy?',
      labels: { 1: 'Awful', 2: 'Poor', 3: 'Okay', 4: 'Good', 5: 'Great' },
      thanks: 'Thanks a lot!',
    });
    const de = await app.db('surveys').where({ id: sent.de.id }).first();
    expect(de.variant).toBe('control');
    expect(JSON.parse(de.wording)).toMatchObject({ locale: 'de', question: 'Wie zufrieden waren Sie?', thanks: 'Vielen Dank!' });
  });

  it('when an old email\'s link is opened after the edit, then the page shows the words that were sent', async () => {
    const res = await request(app.app).get(localPath(sent.en.link));
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<h1>${html('Happy?')}</h1>`);
    expect(res.text).toContain('5 – Great');
    expect(res.text).not.toContain('How did we do today?');
    expect(res.text).not.toContain('Superb');

    const de = await request(app.app).get(localPath(sent.de.link));
    expect(de.text).toContain('<html lang="de">');
    expect(de.text).toContain('<h1>Wie zufrieden waren Sie?</h1>');
    expect(de.text).toContain('5 – Toll');
    expect(de.text).not.toContain('Wie haben wir uns geschlagen?');
  });

  it('when an old survey is rated after the edit, then the thank-you page uses the old thanks text', async () => {
    const token = localPath(sent.de.link).split('/')[2];
    const post = await request(app.app).post(`/r/${token}`).type('form').send('score=4');
    expect(post.status).toBe(303);
    const page = await request(app.app).get(`/r/${token}`);
    expect(page.text).toContain('<h1>Vielen Dank!</h1>');
    expect(page.text).toContain('4 – Gut');
    expect(page.text).not.toContain('Danke, notiert!');
  });

  it('when a new ticket arrives after the edit, then it gets the new words and no variant', async () => {
    const res = await app.postWebhook(ticketPayload({ customer: { email: 'new@example.com' }, locale: 'en' }));
    const row = await app.db('surveys').where({ id: res.body.survey_id }).first();
    expect(row.variant).toBeNull();
    expect(JSON.parse(row.wording)).toMatchObject({ locale: 'en', question: 'How did we do today?', thanks: 'Cheers, noted!', labels: { 5: 'Superb' } });

    await app.services.worker.drain();
    await smtp.waitForMessages(3);
    const mail = smtp.messages.find((m) => m.to && !Array.isArray(m.to) && m.to.value[0].address === 'new@example.com')!;
    expect(mail.text).toContain('How did we do today?');
    expect(mail.text).toContain('5 - Superb');
  });

  it('when the variants were removed from the file, then the report still lists the old variant\'s surveys', async () => {
    const res = await request(app.app)
      .get('/reports/variants?question=handling&from=2026-11-01&to=2026-11-30')
      .set(bearer(app.config.reportsToken));
    expect(res.status).toBe(200);
    const byVariant = Object.fromEntries(res.body.variants.map((v: { variant: string | null; surveys_sent: number }) => [v.variant, v.surveys_sent]));
    expect(byVariant).toMatchObject({ short: 1, control: 1 });
  });
});
