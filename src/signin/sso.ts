import * as client from 'openid-client';

/** OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: single sign-on through one OpenID Connect provider. */
export type SsoConfig = { issuerUrl: string; clientId: string; clientSecret: string };

/** What a sign-in through the provider must carry from its start to its callback (in a short-lived cookie). */
export type SsoAttempt = { state: string; nonce: string; verifier: string };

/** How long a browser has to come back from the provider. */
export const SSO_ATTEMPT_MINUTES = 10;

/** The email the provider vouches for, or why there is none. */
export type SsoIdentity = { email: string } | { problem: 'no_email' | 'email_not_verified' };

/**
 * The OpenID Connect client (openid-client, by the author of the spec's certified libraries):
 * authorization code flow with PKCE (S256), state and nonce, the ID token checked by the library
 * (signature against the provider's JWKS, issuer, audience, expiry, nonce). The provider's metadata
 * is discovered on first use and kept; a failed discovery is tried again on the next sign-in.
 * http:// is allowed because config.ts admits it for a provider on loopback only (a test's or a
 * developer's own).
 */
export function createSso(config: SsoConfig, publicUrl: string) {
  const issuer = new URL(config.issuerUrl);
  const redirectUri = `${publicUrl}/login/sso/callback`;
  let discovered: Promise<client.Configuration> | undefined;

  function provider(): Promise<client.Configuration> {
    discovered ??= client
      .discovery(issuer, config.clientId, { client_secret: config.clientSecret, redirect_uris: [redirectUri] }, client.ClientSecretBasic(config.clientSecret), {
        // openid-client checks the ID token's signature only with enableNonRepudiationChecks.
        execute: [client.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [])],
        timeout: 10,
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  }

  return {
    redirectUri,

    /** Where to send the browser, and what to keep for the callback. */
    async start(): Promise<{ url: string; attempt: SsoAttempt }> {
      const oidc = await provider();
      const attempt = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
      const url = client.buildAuthorizationUrl(oidc, {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(attempt.verifier),
        code_challenge_method: 'S256',
        state: attempt.state,
        nonce: attempt.nonce,
      });
      return { url: url.href, attempt };
    },

    /**
     * The callback: trades the code for tokens (checking state, PKCE and the ID token), then reads
     * the email from the ID token, or from the userinfo endpoint when the provider keeps it there.
     * An email the provider marks unverified is refused. Throws on any failed check.
     */
    async finish(callbackUrl: URL, attempt: SsoAttempt): Promise<SsoIdentity> {
      const oidc = await provider();
      const tokens = await client.authorizationCodeGrant(oidc, callbackUrl, { pkceCodeVerifier: attempt.verifier, expectedState: attempt.state, expectedNonce: attempt.nonce, idTokenExpected: true });
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider answered without an ID token');
      const info: Record<string, unknown> = typeof claims.email === 'string' ? claims : await client.fetchUserInfo(oidc, tokens.access_token, claims.sub);
      // As the provider wrote it: printable ASCII, as stored emails are; no trimming or Unicode case folding into someone else's.
      if (typeof info.email !== 'string' || !/^[!-~]{1,64}@[!-~]{1,255}$/.test(info.email)) return { problem: 'no_email' };
      // Absent: trusted (docs/sso.md); anything but true (false, "false", a typo) is not verified.
      if (info.email_verified !== undefined && info.email_verified !== true && info.email_verified !== 'true') return { problem: 'email_not_verified' };
      return { email: info.email };
    },
  };
}

export type Sso = ReturnType<typeof createSso>;

/** Whether an error is the provider not answering (refused, reset, timed out) rather than an answer that failed a check. */
export function providerUnreachable(err: unknown): boolean {
  // Duck-typed: a DOMException (a timeout) is not an instance of this realm's Error everywhere.
  const chain = (e: unknown): Array<{ name?: unknown; message?: unknown; code?: unknown }> =>
    e && typeof e === 'object' ? [e, ...chain((e as { cause?: unknown }).cause)] : [];
  return chain(err).some((e) => e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'OAUTH_TIMEOUT' || (e.name === 'TypeError' && /fetch failed/i.test(String(e.message))));
}

/** The attempt as a cookie value (base64url JSON of three random strings) and back; anything else reads as none. */
export const encodeAttempt = (a: SsoAttempt) => Buffer.from(JSON.stringify(a)).toString('base64url');
export function decodeAttempt(value: string | undefined): SsoAttempt | undefined {
  if (!value || value.length > 1000) return undefined;
  try {
    const a = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    const ok = [a.state, a.nonce, a.verifier].every((v) => typeof v === 'string' && /^[\w-]{16,200}$/.test(v));
    return ok ? { state: a.state as string, nonce: a.nonce as string, verifier: a.verifier as string } : undefined;
  } catch {
    return undefined;
  }
}
