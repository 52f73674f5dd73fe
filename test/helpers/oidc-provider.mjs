// A real OpenID Connect provider for the single sign-on tests, in its own process: panva's
// oidc-provider (OpenID Certified), with its development sign-in pages, where any login name is
// accepted as the account. The account's email is its login name; a login containing "+unverified"
// has email_verified=false. Claims stay in the userinfo endpoint, not in the ID token (the
// provider's default), so the client must read them there as it would from such a provider.
//
// Protocol with the test, over stdio: it prints {"issuer"} once listening; the test then writes one
// line of JSON {"redirectUri"} (the service's callback, known only once the service has started);
// it prints {"ready":true} once the client is registered. Requests before that answer 503.
import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';

const { CLIENT_ID, CLIENT_SECRET } = process.env;
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end('not ready');
};
const server = http.createServer((req, res) => handler(req, res));

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
  readline.createInterface({ input: process.stdin }).once('line', (line) => {
    const { redirectUri } = JSON.parse(line);
    const provider = new Provider(issuer, {
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'] }],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, email: id.replace('+unverified', ''), email_verified: !id.includes('+unverified'), name: id.split('@')[0] }),
      }),
      pkce: { required: () => true },
      features: { devInteractions: { enabled: true } },
      cookies: { keys: ['closeloop-test-provider-cookie-key'] },
    });
    handler = provider.callback();
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  });
});
