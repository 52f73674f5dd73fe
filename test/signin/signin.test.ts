import request from 'supertest';
import type { ParsedMail } from 'mailparser';
import { manualClock, PUBLIC_URL } from '../helpers/boot';
import { bootWithSmtp, type MailApp } from '../helpers/mail-app';

const MINUTE = 60_000;

describe('sign-in by emailed link, sessions and sign-out (real SMTP)', () => {
  let t: MailApp;
  let clock: ReturnType<typeof manualClock>;
  const admin = (r: request.Test) => r.set('Authorization', `Bearer ${t.config.adminToken}`);
  const addUser = async (body: Record<string, unknown>) => (await admin(request(t.app).post('/api/users')).send(body)).body as { id: number };
  const same = (r: request.Test) => r.set('Origin', PUBLIC_URL);
  const askLink = (email: string) => same(request(t.app).post('/login')).type('form').send({ email });
  const linkIn = (mail: ParsedMail) => new URL(/https:\/\/\S+\/login\/[A-Za-z0-9_-]{43}/.exec(mail.text ?? '')![0]).pathname;
  const mailTo = (address: string) => t.smtp.messages.filter((m) => [m.to].flat().some((a) => a?.value.some((v) => v.address === address)));
  const cookieOf = (res: request.Response) => String([res.headers['set-cookie']].flat()[0]).split(';')[0];
  const audit = async () => (await admin(request(t.app).get('/api/audit'))).body.items.map((e: { action: string; actor: string }) => [e.action, e.actor]);

  /** Asks for a link as `email` and signs in with it; answers the session cookie. */
  async function signIn(email: string) {
    const before = mailTo(email).length;
    await askLink(email).expect(200);
    await t.smtp.waitForMessages(t.smtp.messages.length + 1);
    while (mailTo(email).length === before) await t.smtp.waitForMessages(t.smtp.messages.length + 1);
    const res = await same(request(t.app).post(linkIn(mailTo(email).at(-1)!)));
    expect(res.status).toBe(303);
    return { cookie: cookieOf(res), res };
  }

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-30T09:00:00Z'));
    t = await bootWithSmtp({ SESSION_IDLE_MINUTES: '30', SESSION_MAX_HOURS: '2' }, clock);
    await addUser({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] });
    await addUser({ email: 'ada@support.example', name: 'Ada', role: 'agent', agent_id: 'a-7' });
  });
  afterEach(() => t.close());

  it('when an unknown address asks for a link, then the page is the same as for a known one and no email goes (a known address\'s email is the control)', async () => {
    const unknown = await askLink('stranger@example.com');
    const known = await askLink('lena@support.example');
    const page = (res: request.Response) => res.text.replace(/nonce="[^"]+"/g, 'nonce=""'); // the CSP nonce is new per response
    expect([unknown.status, page(unknown)]).toEqual([known.status, page(known)]);
    expect(unknown.text).toContain('If this address belongs to a Closeloop user, a sign-in link is on its way.');
    const [mail] = await t.smtp.waitForMessages(1);
    expect(mailTo('lena@support.example')).toEqual([mail]);
    expect(mail.subject).toBe('Your Closeloop sign-in link');
    expect(mailTo('stranger@example.com')).toEqual([]);
    expect((await audit()).slice(0, 2)).toEqual([
      ['signin_link_sent', 'lena@support.example'],
      ['signin_failed', 'stranger@example.com'],
    ]);
  });

  it('when the emailed link is opened, then the page only shows a button; its POST signs in with a safe cookie, once', async () => {
    await askLink('lena@support.example');
    const [mail] = await t.smtp.waitForMessages(1);
    const path = linkIn(mail);

    const opened = await request(t.app).get(path); // a mail scanner or a preview
    expect(opened.status).toBe(200);
    expect(opened.text).toContain('<button type="submit">Sign in</button>');
    expect(opened.headers['referrer-policy']).toBe('no-referrer');
    expect(await t.count('sessions')).toBe(0);
    expect(await t.db('signin_links').whereNotNull('used_at').count<{ n: number }[]>({ n: '*' })).toEqual([{ n: 0 }]);

    const signed = await same(request(t.app).post(path));
    expect([signed.status, signed.headers.location]).toEqual([303, '/reports/agents']);
    const setCookie = String([signed.headers['set-cookie']].flat()[0]);
    expect(setCookie).toMatch(/^__Host-closeloop_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=7200$/);
    const me = await request(t.app).get('/me').set('Cookie', cookieOf(signed));
    expect(me.body).toEqual({ email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'], agent_id: null });
    // The session's secret is not what is stored.
    expect(await t.db('sessions').pluck('id_hash')).not.toContain(cookieOf(signed).split('=')[1]);

    const reused = await same(request(t.app).post(path));
    expect(reused.status).toBe(400);
    expect(reused.headers['set-cookie']).toBeUndefined();
    expect(await t.count('sessions')).toBe(1);
    expect((await audit()).slice(0, 2)).toEqual([
      ['signin_failed', 'unknown'],
      ['signin', 'lena@support.example'],
    ]);
  });

  it('when a link is older than 15 minutes, made up, or posted from another site, then it signs nobody in', async () => {
    await askLink('lena@support.example');
    const [mail] = await t.smtp.waitForMessages(1);
    const path = linkIn(mail);
    expect((await request(t.app).post(path).set('Origin', 'https://evil.example')).status).toBe(403);
    expect((await same(request(t.app).post(`/login/${'A'.repeat(43)}`))).status).toBe(400);
    clock.advance(15 * MINUTE + 1000);
    expect((await same(request(t.app).post(path))).status).toBe(400);
    expect(await t.count('sessions')).toBe(0);
  });

  it('when one address asks for links again and again, then at most 5 go out in 15 minutes, and the page never says so', async () => {
    for (let i = 0; i < 8; i++) expect((await askLink('lena@support.example')).text).toContain('a sign-in link is on its way');
    await t.smtp.waitForMessages(5);
    expect(await t.count('signin_links')).toBe(5);
    expect((await audit()).filter(([action]: string[]) => action === 'signin_failed')).toHaveLength(3);
    clock.advance(15 * MINUTE + 1000);
    await askLink('lena@support.example');
    await t.smtp.waitForMessages(6); // a new window: the next one goes
    expect(mailTo('lena@support.example')).toHaveLength(6);
  });

  it('when an agent signs in, then they land on their own page', async () => {
    const { res } = await signIn('ada@support.example');
    expect(res.headers.location).toBe('/reports/agents/a-7');
  });

  it('when a user signs out, then the form needs the session\'s CSRF token, and afterwards the cookie signs nobody in', async () => {
    const { cookie } = await signIn('lena@support.example');
    expect((await same(request(t.app).post('/logout')).set('Cookie', cookie).type('form').send({ csrf: 'wrong' })).status).toBe(403);
    expect((await request(t.app).get('/me').set('Cookie', cookie)).status).toBe(200);
    // Every page of a signed-in user carries the sign-out form with the session's token.
    const dashboard = await request(t.app).get('/reports/agents?format=html').set('Cookie', cookie);
    expect(dashboard.text).toContain('<span class="muted">Lena · lead</span>');
    const csrf = /<form class="whoami" method="post" action="\/logout">.*?name="csrf" value="([A-Za-z0-9_-]{43})"/.exec(dashboard.text)![1];
    expect(csrf).toBe((await t.db('sessions').first('csrf')).csrf);
    const out = await same(request(t.app).post('/logout')).set('Cookie', cookie).type('form').send({ csrf });
    expect([out.status, out.headers.location]).toEqual([303, '/login']);
    expect(await t.count('sessions')).toBe(0);
    expect((await request(t.app).get('/me').set('Cookie', cookie)).headers.location).toBe('/login');
  });

  it('when a session is idle past SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS, then it ends; activity keeps it alive until then', async () => {
    const { cookie } = await signIn('lena@support.example');
    const me = () => request(t.app).get('/me').set('Cookie', cookie);
    for (let i = 0; i < 4; i++) {
      clock.advance(25 * MINUTE); // active every 25 minutes: never idle for 30
      expect((await me()).status).toBe(200);
    }
    clock.advance(25 * MINUTE); // 125 minutes after sign-in: past the 2-hour end
    expect((await me()).headers.location).toBe('/login');

    const again = await signIn('lena@support.example');
    clock.advance(30 * MINUTE);
    expect((await request(t.app).get('/me').set('Cookie', again.cookie)).headers.location).toBe('/login');
  });

  it('when a user\'s role or teams change, then they are signed out everywhere', async () => {
    const first = await signIn('lena@support.example');
    const second = await signIn('lena@support.example');
    const { id } = (await admin(request(t.app).get('/api/users'))).body.items.find((u: { email: string }) => u.email === 'lena@support.example');
    await admin(request(t.app).patch(`/api/users/${id}`)).send({ teams: ['billing', 'returns'] }).expect(200);
    for (const { cookie } of [first, second]) expect((await request(t.app).get('/me').set('Cookie', cookie)).headers.location).toBe('/login');
  });
});
