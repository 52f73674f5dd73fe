/**
 * Single sign-on, attacked: the service in-process (supertest, PUBLIC_URL https) against a small
 * OpenID Connect provider on loopback that the test controls completely (discovery, JWKS, token and
 * userinfo endpoints; it checks client authentication, redirect_uri and PKCE like a real one, and
 * each code works once). What a hostile or quirky provider answer, a forged callback, a slow
 * provider or an API client does to sign-in.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { bootApp, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { createLogger } from '../../src/shared/logger';

const CLIENT = { id: 'closeloop-attack', secret: 'attack-client-secret-0123456789' };
const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

type Grant = { challenge: string; nonce: string; claims: Record<string, unknown>; userinfo?: Record<string, unknown>; signWith?: crypto.KeyObject };

/** A provider on 127.0.0.1 whose answers the test sets per code. */
async function startProvider() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const strangerKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const grants = new Map<string, Grant>();
  const accessTokens = new Map<string, Record<string, unknown>>();
  const issued: string[] = []; // every code, access token and ID token handed out: none may reach a log
  const slow = { discoveryMs: 0, tokenMs: 0, stallTokenBody: false };
  let issuer = '';

  const sign = (payload: Record<string, unknown>, key: crypto.KeyObject) => {
    const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' }))}.${b64url(JSON.stringify(payload))}`;
    return `${input}.${b64url(crypto.sign('sha256', Buffer.from(input), key))}`;
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', issuer);
      if (url.pathname === '/.well-known/openid-configuration') {
        if (slow.discoveryMs) await sleep(slow.discoveryMs);
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
          authorization_response_iss_parameter_supported: true,
        });
      }
      if (url.pathname === '/jwks') return json(res, 200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] });
      if (url.pathname === '/token' && req.method === 'POST') {
        if (slow.tokenMs) await sleep(slow.tokenMs);
        if (slow.stallTokenBody) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return void res.write('{"access_token":'); // and nothing more
        }
        const form = new URLSearchParams(raw);
        const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
        if (id !== CLIENT.id || secret !== CLIENT.secret) return json(res, 401, { error: 'invalid_client' });
        const grant = grants.get(form.get('code') ?? '');
        grants.delete(form.get('code') ?? ''); // a code works once
        const challenge = b64url(crypto.createHash('sha256').update(form.get('code_verifier') ?? '').digest());
        if (!grant || form.get('grant_type') !== 'authorization_code' || form.get('redirect_uri') !== `${PUBLIC_URL}/login/sso/callback` || challenge !== grant.challenge) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        const now = Math.floor(Date.now() / 1000);
        const accessToken = b64url(crypto.randomBytes(32));
        const idToken = sign({ iss: issuer, aud: CLIENT.id, sub: 'user-1', iat: now, exp: now + 300, nonce: grant.nonce, ...grant.claims }, grant.signWith ?? privateKey);
        accessTokens.set(accessToken, { sub: 'user-1', ...grant.userinfo });
        issued.push(accessToken, idToken);
        return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      if (url.pathname === '/userinfo') {
        const info = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        return info ? json(res, 200, info) : json(res, 401, { error: 'invalid_token' });
      }
      json(res, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    grants,
    issued,
    slow,
    strangerKey,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('single sign-on under attack (a provider the test controls)', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let t: TestApp;
  const lines: string[] = [];
  const admin = (r: request.Test) => r.set('Authorization', `Bearer ${t.config.adminToken}`);
  const cookiesOf = (res: request.Response): string[] => [res.headers['set-cookie'] ?? []].flat();
  const sessionCookie = (res: request.Response) => cookiesOf(res).find((c) => c.startsWith('__Host-closeloop_session=') && !c.startsWith('__Host-closeloop_session=;'));

  /** GET /login/sso as a browser: the attempt's cookie and what went to the provider. */
  async function start() {
    const res = await request(t.app).get('/login/sso');
    expect(res.status).toBe(303);
    const to = new URL(res.headers.location);
    const cookie = cookiesOf(res).find((c) => c.startsWith('__Host-closeloop_sso='))!;
    return { res, to, cookie, pair: cookie.split(';')[0], state: to.searchParams.get('state')!, nonce: to.searchParams.get('nonce')!, challenge: to.searchParams.get('code_challenge')! };
  }

  /** The provider's side of a sign-in: a code for this attempt, answering these claims. */
  function codeFor(attempt: { challenge: string; nonce: string }, grant: Omit<Grant, 'challenge' | 'nonce'> & { nonce?: string }) {
    const code = b64url(crypto.randomBytes(24));
    provider.grants.set(code, { challenge: attempt.challenge, ...grant, nonce: grant.nonce ?? attempt.nonce });
    provider.issued.push(code);
    return code;
  }

  const callback = (query: Record<string, string>, cookie?: string) => {
    const r = request(t.app).get(`/login/sso/callback?${new URLSearchParams(query)}`);
    return cookie ? r.set('Cookie', cookie) : r;
  };

  /** A whole sign-in whose provider vouches for these claims (in the ID token; `userinfo` for the userinfo endpoint). */
  async function signInWith(grant: Omit<Grant, 'challenge' | 'nonce'>) {
    const a = await start();
    return callback({ code: codeFor(a, grant), state: a.state, iss: provider.issuer }, a.pair);
  }

  beforeAll(async () => {
    provider = await startProvider();
    t = await bootApp(
      { OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT.id, OIDC_CLIENT_SECRET: CLIENT.secret },
      undefined,
      createLogger('debug', { write: (line: string) => void lines.push(line) }),
    );
    for (const user of [
      { email: 'lena@support.example', name: 'Lena', role: 'lead', teams: ['billing'] },
      { email: 'kim@support.example', name: 'Kim', role: 'admin' },
    ]) {
      expect((await admin(request(t.app).post('/api/users')).send(user)).status).toBe(201);
    }
  });

  afterAll(async () => {
    await t?.close();
    await provider?.stop();
  });

  it('when a verified email signs in, then the attempt cookie is __Host-, Secure, HttpOnly, Lax, 10 minutes, and is cleared by the callback; any case of the email matches', async () => {
    const a = await start();
    expect(a.cookie).toMatch(/^__Host-closeloop_sso=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/);
    expect(a.cookie).not.toMatch(/Domain=/i);
    expect(Object.fromEntries(a.to.searchParams)).toMatchObject({ response_type: 'code', client_id: CLIENT.id, redirect_uri: `${PUBLIC_URL}/login/sso/callback`, code_challenge_method: 'S256' });
    expect(a.to.searchParams.has('client_secret')).toBe(false);
    const res = await callback({ code: codeFor(a, { claims: { email: 'Lena@Support.EXAMPLE', email_verified: true } }), state: a.state, iss: provider.issuer }, a.pair);
    expect([res.status, res.headers.location]).toEqual([303, '/reports/agents']);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(cookiesOf(res)).toContain('__Host-closeloop_sso=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0');
    const me = await request(t.app).get('/me').set('Cookie', sessionCookie(res)!.split(';')[0]);
    expect(me.body.email).toBe('lena@support.example');

    const fromUserinfo = await signInWith({ claims: {}, userinfo: { email: 'lena@support.example', email_verified: true } });
    expect(sessionCookie(fromUserinfo)).toBeDefined();
  });

  it('when an attacker\'s own code and state reach a victim\'s browser (login CSRF), then nobody is signed in, with or without an attempt of the victim\'s', async () => {
    const attacker = await start();
    const code = codeFor(attacker, { claims: { email: 'lena@support.example', email_verified: true } });
    const noAttempt = await callback({ code, state: attacker.state, iss: provider.issuer });
    expect([noAttempt.status, sessionCookie(noAttempt)]).toEqual([400, undefined]);
    const victim = await start();
    const otherAttempt = await callback({ code, state: attacker.state, iss: provider.issuer }, victim.pair);
    expect([otherAttempt.status, sessionCookie(otherAttempt)]).toEqual([400, undefined]);
    // The victim's state with the attacker's code: the PKCE verifier is the victim's, the code the attacker's.
    const code2 = codeFor(attacker, { claims: { email: 'lena@support.example', email_verified: true } });
    const victim2 = await start();
    const mixed = await callback({ code: code2, state: victim2.state, iss: provider.issuer }, victim2.pair);
    expect([mixed.status, sessionCookie(mixed)]).toEqual([400, undefined]);
  });

  it('when the callback\'s iss, the ID token\'s nonce or the replayed code is wrong, then nobody is signed in', async () => {
    const a = await start();
    const wrongIss = await callback({ code: codeFor(a, { claims: { email: 'lena@support.example' } }), state: a.state, iss: 'https://evil.example' }, a.pair);
    expect([wrongIss.status, sessionCookie(wrongIss)]).toEqual([400, undefined]);
    const b = await start();
    const noIss = await callback({ code: codeFor(b, { claims: { email: 'lena@support.example' } }), state: b.state }, b.pair);
    expect([noIss.status, sessionCookie(noIss)]).toEqual([400, undefined]);
    const c = await start();
    const wrongNonce = await callback({ code: codeFor(c, { claims: { email: 'lena@support.example' }, nonce: 'someone-elses-nonce-0123456789' }), state: c.state, iss: provider.issuer }, c.pair);
    expect([wrongNonce.status, sessionCookie(wrongNonce)]).toEqual([400, undefined]);
    const d = await start();
    const query = { code: codeFor(d, { claims: { email: 'lena@support.example' } }), state: d.state, iss: provider.issuer };
    expect((await callback(query, d.pair)).status).toBe(303);
    const replay = await callback(query, d.pair); // even with the attempt's cookie kept
    expect([replay.status, sessionCookie(replay)]).toEqual([400, undefined]);
  });

  it('when the provider says email_verified "false" as a string, then it is refused like false', async () => {
    const fromUserinfo = await signInWith({ claims: {}, userinfo: { email: 'kim@support.example', email_verified: 'false' } });
    expect([fromUserinfo.status, sessionCookie(fromUserinfo)]).toEqual([403, undefined]);
    const fromIdToken = await signInWith({ claims: { email: 'kim@support.example', email_verified: 'false' } });
    expect([fromIdToken.status, sessionCookie(fromIdToken)]).toEqual([403, undefined]);
  });

  it('when the provider\'s email is another user\'s only after Unicode case folding or trimming, then it is no match', async () => {
    const emails = ['\u212Aim@support.example' /* KELVIN SIGN: lowercases to "k" */, ' kim@support.example', 'kim@support.example\n', '\uFEFFkim@support.example'];
    const answers: Array<[string, number, boolean]> = [];
    for (const email of emails) {
      const res = await signInWith({ claims: { email, email_verified: true } });
      answers.push([JSON.stringify(email), res.status, Boolean(sessionCookie(res))]);
    }
    expect(answers).toEqual(emails.map((e) => [JSON.stringify(e), 403, false]));
  });

  it('when the ID token is not signed by the provider\'s key, then it is refused (docs/sso.md: "signature from the provider\'s JWKS")', async () => {
    const res = await signInWith({ claims: { email: 'kim@support.example', email_verified: true }, signWith: provider.strangerKey });
    expect([res.status, sessionCookie(res)]).toEqual([400, undefined]);
  });

  it('when a browser asks for a page with neither session nor token, then it goes to /login (HEAD as GET); API clients, CSV, a wrong token and a POST keep the 401', async () => {
    const html = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    expect((await request(t.app).get('/reports/agents').set('Accept', html)).headers.location).toBe('/login');
    expect((await request(t.app).get('/followups').set('Accept', html)).headers.location).toBe('/login');
    // README ("Errors"): any route answers HEAD like GET without the body.
    const head = await request(t.app).head('/reports/agents').set('Accept', html);
    expect([head.status, head.headers.location]).toEqual([303, '/login']);
    for (const [what, r] of [
      ['no Accept', request(t.app).get('/reports/agents')],
      ['curl', request(t.app).get('/reports/agents').set('Accept', '*/*')],
      ['json', request(t.app).get('/reports/trend').set('Accept', 'application/json')],
      ['csv in a browser', request(t.app).get('/reports/ratings?format=csv').set('Accept', html)],
      ['a wrong token in a browser', request(t.app).get('/reports/agents').set('Accept', html).set('Authorization', 'Bearer nope')],
      ['POST in a browser', request(t.app).post('/followups/1').set('Accept', html).set('Origin', PUBLIC_URL)],
    ] as const) {
      const res = await r;
      expect([what, res.status, res.headers.location]).toEqual([what, 401, undefined]);
    }
  });

  it('when the provider hangs at the token endpoint, then the callback answers 503 (the provider did not answer) within the 10 s timeout; nothing hangs', async () => {
    const a = await start(); // discovered while the provider answers
    const code = codeFor(a, { claims: { email: 'lena@support.example' } });
    provider.slow.tokenMs = 60_000;
    let began = Date.now();
    const slowToken = await callback({ code, state: a.state, iss: provider.issuer }, a.pair);
    expect([slowToken.status, sessionCookie(slowToken)]).toEqual([503, undefined]);
    expect(slowToken.text).toContain('The sign-in provider did not answer.');
    expect(Date.now() - began).toBeLessThan(20_000);
    provider.slow.tokenMs = 0;

    provider.slow.stallTokenBody = true;
    const b = await start();
    began = Date.now();
    const stalled = await callback({ code: codeFor(b, { claims: { email: 'lena@support.example' } }), state: b.state, iss: provider.issuer }, b.pair);
    expect([stalled.status, sessionCookie(stalled)]).toEqual([503, undefined]);
    expect(Date.now() - began).toBeLessThan(20_000);
    provider.slow.stallTokenBody = false;
  }, 60_000);

  it('never logs a code, token, ID token or the client secret', () => {
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [CLIENT.secret, ...provider.issued]) expect(log).not.toContain(secret);
  });
});

describe('single sign-on with a provider that is down at the first sign-in', () => {
  let provider: Awaited<ReturnType<typeof startProvider>>;
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
    await provider?.stop();
  });

  it('when discovery hangs, then the service runs, /login/sso answers 503 within the 10 s timeout, and the next sign-in discovers again', async () => {
    provider = await startProvider();
    provider.slow.discoveryMs = 60_000;
    t = await bootApp({ OIDC_ISSUER_URL: provider.issuer, OIDC_CLIENT_ID: CLIENT.id, OIDC_CLIENT_SECRET: CLIENT.secret });
    expect((await request(t.app).get('/login')).text).toContain('Sign in with SSO');
    const began = Date.now();
    const hung = await request(t.app).get('/login/sso');
    expect([hung.status, hung.headers['set-cookie']]).toEqual([503, undefined]);
    expect(Date.now() - began).toBeLessThan(20_000);
    provider.slow.discoveryMs = 0;
    const again = await request(t.app).get('/login/sso');
    expect([again.status, new URL(again.headers.location).origin]).toEqual([303, provider.issuer]);
  }, 60_000);
});
