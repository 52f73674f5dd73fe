import request from 'supertest';
import { senderFor } from '../../src/delivery/render';
import { ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';
import { ratingLinks } from '../helpers/smtp';
import { deliverOne, tempDir, validWith, VALID_LINES } from './fixtures';

const DEFAULT_ACCENT = '#1f4fbf';
/** The line the page layout adds only when a brand sets an accent colour. */
const accentOverride = (colour: string) => `@media (prefers-color-scheme: light) { :root { --accent:${colour}; } }`;

// acme (fixture): everything set. globex: a sender name only. initech: an accent colour only.
const FILE = validWith({ 31: [VALID_LINES[30], '  globex:', '    sender_name: Globex Care', '  initech:', '    accent_color: "#0b7a3b"'] });

describe('per-brand sender, logo and accent colour (real SMTP)', () => {
  const tmp = tempDir();
  let t: MailApp;
  beforeAll(async () => {
    t = await bootWithSmtp({ SURVEYS_FILE: tmp.write('surveys.yml', FILE), MAIL_FROM: 'Closeloop Surveys <surveys@closeloop.test>' });
  });
  afterAll(async () => {
    await t.close();
    tmp.cleanup();
  });

  const page = async (mail: Parameters<typeof ratingLinks>[0]) => (await request(t.app).get(new URL(ratingLinks(mail)[3]).pathname)).text;

  it('when an acme ticket closes, then the email comes from Acme\'s sender with Acme\'s logo', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand: 'acme', customer: { email: 'acme-customer@example.com' } }));
    expect(mail.from?.value).toEqual([{ name: 'Acme Support', address: 'support@acme.example' }]);
    expect(mail.html).toContain('<img src="https://acme.example/logo.png" alt="Acme Support"');
  });

  it('when an acme ticket closes, then the five rating links are drawn in Acme\'s accent colour', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand: 'acme', customer: { email: 'acme-colour@example.com' } }));
    expect(String(mail.html).match(/border-left:4px solid #d9480f;[^"]*;color:#d9480f;/g)).toHaveLength(5);
    expect(mail.html).not.toContain(DEFAULT_ACCENT);
  });

  it('when an acme customer opens the link, then the rating page shows Acme\'s logo and accent colour', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand: 'acme', customer: { email: 'acme-page@example.com' } }));
    const html = await page(mail);
    expect(html).toContain('<img class="logo" src="https://acme.example/logo.png" alt="Acme Support">');
    expect(html).toContain(accentOverride('#d9480f'));
  });

  it('when a brand sets only a sender name, then the address comes from MAIL_FROM and the look stays default', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand: 'globex', customer: { email: 'globex@example.com' } }));
    expect(mail.from?.value).toEqual([{ name: 'Globex Care', address: 'surveys@closeloop.test' }]);
    expect(mail.html).not.toContain('<img');
    expect(await page(mail)).not.toContain('class="logo"');
  });

  it('when a brand sets only an accent colour, then MAIL_FROM sends it and the rating page uses the colour', async () => {
    const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand: 'initech', customer: { email: 'initech@example.com' } }));
    expect(mail.from?.value).toEqual([{ name: 'Closeloop Surveys', address: 'surveys@closeloop.test' }]);
    expect(await page(mail)).toContain(accentOverride('#0b7a3b'));
  });

  it('when a ticket has no brand colour, then the rating links are drawn in the default accent colour', async () => {
    for (const brand of [undefined, 'globex']) {
      const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand, customer: { email: `default-colour-${brand}@example.com` } }));
      expect(String(mail.html).match(new RegExp(`border-left:4px solid ${DEFAULT_ACCENT};[^"]*;color:${DEFAULT_ACCENT};`, 'g'))).toHaveLength(5);
    }
  });

  it('when a ticket has no brand, an unknown one or another spelling of a known one, then MAIL_FROM and the default look apply', async () => {
    for (const brand of [undefined, 'umbrella', 'ACME']) {
      const { mail } = await deliverOne(t, t.smtp, ticketPayload({ brand, customer: { email: `plain-${brand}@example.com` } }));
      expect(mail.from?.value).toEqual([{ name: 'Closeloop Surveys', address: 'surveys@closeloop.test' }]);
      expect(mail.html).not.toContain('<img');
      const html = await page(mail);
      expect(html).not.toContain('class="logo"');
      expect(html).not.toContain('@media (prefers-color-scheme: light) { :root { --accent:');
    }
  });
});

describe('senderFor', () => {
  it('when a brand has no sender fields, then MAIL_FROM is used as is', () => {
    expect(senderFor({ accent_color: '#000000' }, 'Closeloop <surveys@localhost>')).toBe('Closeloop <surveys@localhost>');
  });

  it('when a brand has an address but no name, then the name comes from MAIL_FROM', () => {
    expect(senderFor({ sender_address: 'help@acme.example' }, 'Closeloop <surveys@localhost>')).toBe('"Closeloop" <help@acme.example>');
    expect(senderFor({ sender_address: 'help@acme.example' }, 'surveys@localhost')).toBe('help@acme.example');
  });

  it('when a sender name holds quotes or backslashes, then they cannot break out of the quoted name', () => {
    expect(senderFor({ sender_name: 'Acme "Best" \\ Support', sender_address: 'a@acme.example' }, 'x@y.example')).toBe('"Acme Best  Support" <a@acme.example>');
  });
});
