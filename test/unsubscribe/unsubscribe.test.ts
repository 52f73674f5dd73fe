import request from 'supertest';
import { manualClock, ticketPayload } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';

describe('unsubscribe', () => {
  let t: MailApp;

  beforeEach(async () => {
    t = await bootWithSmtp();
  });
  afterEach(() => t.close());

  /** Sends one survey to `email` and answers the delivered message's List-Unsubscribe URL path. */
  async function surveyEmail(email: string) {
    const res = await t.postWebhook(ticketPayload({ customer: { email, name: 'Ann' } }));
    expect(res.status).toBe(202);
    await t.services.worker.drain();
    const mail = (await t.smtp.waitForMessages(t.smtp.messages.length || 1)).at(-1)!;
    return mail;
  }

  it('when a survey is sent, then it carries RFC 8058 List-Unsubscribe headers and the same link in both bodies', async () => {
    const mail = await surveyEmail('ann@example.com');
    const raw = (key: string) => mail.headerLines.find((h) => h.key === key)?.line.replace(/\r?\n[ \t]+/g, ' ');
    expect(raw('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const url = /^List-Unsubscribe: <([^>]+)>$/.exec(raw('list-unsubscribe') ?? '')?.[1];
    expect(url).toMatch(/^https:\/\/csat\.example\.test\/u\/[A-Za-z0-9_-]{43}$/);
    expect(String(mail.html)).toContain(`href="${url}"`);
    expect(String(mail.text)).toContain(url);
  });

  it('when the one-click POST arrives, then the address is opted out and its next ticket is suppressed as opted_out', async () => {
    const mail = await surveyEmail('ann@example.com');
    const path = new URL(String(mail.text).match(/https:\/\/csat\.example\.test\/u\/\S+/)![0]).pathname;
    const res = await request(t.app).post(path).type('form').send('List-Unsubscribe=One-Click');
    expect(res.status).toBe(200);
    // Only a keyed hash of the address is kept (PRIVACY_KEY), not the address.
    expect(await t.db('opt_outs').select('*')).toEqual([{ email_hash: t.services.addressHash('ann@example.com'), created_at: expect.anything() }]);

    const next = await t.postWebhook(ticketPayload({ customer: { email: 'Ann@Example.com' } }));
    expect(next.body).toMatchObject({ status: 'suppressed', reason: 'opted_out' });
  });

  it('when the one-click POST comes as multipart/form-data (RFC 8058 SHOULD), then the address is opted out too', async () => {
    const mail = await surveyEmail('ann@example.com');
    const path = new URL(String(mail.text).match(/https:\/\/csat\.example\.test\/u\/\S+/)![0]).pathname;
    const res = await request(t.app).post(path).field('List-Unsubscribe', 'One-Click');
    expect(res.status).toBe(200);
    expect(await t.count('opt_outs')).toBe(1);
  });

  it('when the link is opened with GET, then nothing changes until the page button is pressed, and the page allows opting back in', async () => {
    const mail = await surveyEmail('ann@example.com');
    const path = new URL(String(mail.text).match(/https:\/\/csat\.example\.test\/u\/\S+/)![0]).pathname;
    const page = await request(t.app).get(path);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('a***@example.com');
    expect(page.text).not.toContain('ann@example.com');
    expect(await t.count('opt_outs')).toBe(0);

    await request(t.app).post(path).type('form').send('action=unsubscribe').expect(303);
    expect(await t.count('opt_outs')).toBe(1);
    const after = await request(t.app).get(path);
    expect(after.text).toContain('Receive survey emails again');

    await request(t.app).post(path).type('form').send('action=resubscribe').expect(303);
    expect(await t.count('opt_outs')).toBe(0);
    const again = await t.postWebhook(ticketPayload({ customer: { email: 'ann@example.com' } }));
    expect(again.status).toBe(202);
  });

  it('when the token is unknown or malformed, then 404 and nothing is stored', async () => {
    await request(t.app).get(`/u/${'x'.repeat(43)}`).expect(404);
    await request(t.app).post('/u/nope').type('form').send('List-Unsubscribe=One-Click').expect(404);
    expect(await t.count('opt_outs')).toBe(0);
  });

  it('when the POST names no action, then 400 and nothing changes', async () => {
    const mail = await surveyEmail('ann@example.com');
    const path = new URL(String(mail.text).match(/https:\/\/csat\.example\.test\/u\/\S+/)![0]).pathname;
    await request(t.app).post(path).type('form').send('action=maybe').expect(400);
    expect(await t.count('opt_outs')).toBe(0);
  });
});

describe('unsubscribe while a survey waits to be sent', () => {
  const clock = manualClock(new Date('2026-11-20T10:00:00Z'));
  let t: MailApp;
  beforeEach(async () => {
    t = await bootWithSmtp({ SURVEY_DELAY_MINUTES: '60' }, clock);
  });
  afterEach(() => t.close());

  it('when a customer unsubscribes while a later ticket waits out SURVEY_DELAY_MINUTES, then that email is not sent and its survey ends cancelled; another customer’s goes out', async () => {
    const close = async (email: string) => {
      const res = await t.postWebhook(ticketPayload({ closed_at: clock.now().toISOString(), customer: { email, name: 'Ann' } }));
      expect(res.status).toBe(202);
      return res.body.survey_id as string;
    };
    await close('ann@example.com');
    clock.advance(61 * 60_000);
    expect(await t.services.worker.drain()).toBe(1);
    const [first] = await t.smtp.waitForMessages(1);
    const unsubscribe = new URL(String(first.text).match(/https:\/\/csat\.example\.test\/u\/\S+/)![0]).pathname;

    const waiting = await close('Ann@Example.com');
    const control = await close('bob@example.com');
    expect((await request(t.app).post(unsubscribe).type('form').send('List-Unsubscribe=One-Click')).status).toBe(200);
    expect(await t.services.worker.drain()).toBe(0); // not due yet
    clock.advance(61 * 60_000);
    expect(await t.services.worker.drain()).toBe(2);

    const statusOf = async (id: string) => [(await t.db('surveys').where({ id }).first('status')).status, (await t.db('outbox').where({ survey_id: id }).first('status')).status];
    expect(await statusOf(waiting)).toEqual(['cancelled', 'cancelled']);
    expect(await statusOf(control)).toEqual(['sent', 'sent']);
    // The control's email arriving is the event after which Ann's absence is checked.
    const mails = await t.smtp.waitForMessages(2);
    expect(mails.map((m) => (m.to as { value: Array<{ address: string }> }).value[0].address)).toEqual(['ann@example.com', 'bob@example.com']);
    expect(await t.db('unsubscribe_tokens').where({ survey_id: waiting }).count({ n: '*' }).first()).toEqual({ n: 0 });
  });
});
