import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { loadOrCreateCredentials, PUBLISHED_EXAMPLES } from '../../src/credentials';

describe('loadConfig', () => {
  it('when nothing is set, then the embedded defaults apply', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      database: { client: 'sqlite', path: './data/closeloop.sqlite' },
      smtpUrl: undefined,
      mailDir: './data/outbox',
      usingDevSecret: true,
      surveyDelayMinutes: 0,
      tokenTtlDays: 28,
      ratingChangeDays: 14,
    });
    expect(Object.isFrozen(c)).toBe(true);
    // Unset secrets are made for this process (main.ts: for this install), never a published string.
    expect(c.webhookSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([c.webhookSecret, c.reportsToken, c.adminToken]).size).toBe(3);
    expect(loadConfig({}).webhookSecret).not.toBe(c.webhookSecret);
    expect(c.localCredentialsFile).toBe(path.join('data', 'credentials.json'));
  });

  it('when a secret is one of the strings the README once printed, then it is refused in every environment', () => {
    for (const name of ['WEBHOOK_SECRET', 'REPORTS_TOKEN', 'ADMIN_TOKEN']) {
      for (const value of PUBLISHED_EXAMPLES) expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: is a published example value`));
    }
  });

  it('when AGENT_CREDIT is unset, then the last replier is credited first; an unknown value stops start-up naming it', () => {
    expect(loadConfig({}).agentCredit).toBe('last_reply');
    for (const value of ['closer', 'assignee', 'last_reply'] as const) expect(loadConfig({ AGENT_CREDIT: value }).agentCredit).toBe(value);
    expect(() => loadConfig({ AGENT_CREDIT: 'owner' })).toThrow(/AGENT_CREDIT: must be one of last_reply, closer, assignee/);
  });

  it('when PORT is set and PUBLIC_URL is not, then links use that port; a trailing slash is dropped', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://csat.acme.test/' }).publicUrl).toBe('https://csat.acme.test');
  });

  it('when DATABASE_URL names an absolute path, then that path is used', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/closeloop/db.sqlite' }).database).toEqual({ client: 'sqlite', path: '/var/lib/closeloop/db.sqlite' });
  });

  it('when DATABASE_URL is a postgres:// URL, then PostgreSQL is used with the pool settings', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://closeloop:pw@db.internal:5432/closeloop', DATABASE_SCHEMA: 'csat', DB_POOL_MAX: '20', DB_ACQUIRE_TIMEOUT_MS: '2000', DB_STATEMENT_TIMEOUT_MS: '5000' });
    expect(c.database).toEqual({ client: 'pg', url: 'postgres://closeloop:pw@db.internal:5432/closeloop', schema: 'csat', poolMax: 20, acquireTimeoutMs: 2000, statementTimeoutMs: 5000 });
    expect(loadConfig({ DATABASE_URL: 'postgresql://db.internal/closeloop' }).database).toMatchObject({ client: 'pg', poolMax: 10, acquireTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
  });

  it('when DATABASE_SCHEMA is set for a SQLite file, then the configuration is refused', () => {
    expect(() => loadConfig({ DATABASE_SCHEMA: 'csat' })).toThrow(/DATABASE_SCHEMA: applies to PostgreSQL only/);
  });

  it('when REMINDER_AFTER_HOURS and ALERT_DIGEST_MINUTES are unset, then no reminder and no digest; fractions of an hour are allowed', () => {
    expect(loadConfig({})).toMatchObject({ reminderAfterHours: 0, alertDigestMinutes: 0 });
    expect(loadConfig({ REMINDER_AFTER_HOURS: '0.25', ALERT_DIGEST_MINUTES: '15' })).toMatchObject({ reminderAfterHours: 0.25, alertDigestMinutes: 15 });
    expect(loadConfig({ REMINDER_AFTER_HOURS: '47.5', TOKEN_TTL_DAYS: '2' }).reminderAfterHours).toBe(47.5);
  });

  it('when the three OIDC variables are set, then single sign-on is on; with one or two of them, or a provider over plain http elsewhere than loopback, start-up stops naming OIDC_ISSUER_URL', () => {
    const oidc = { OIDC_ISSUER_URL: 'https://login.example.com/realms/support', OIDC_CLIENT_ID: 'closeloop', OIDC_CLIENT_SECRET: 'a-client-secret' };
    expect(loadConfig({}).sso).toBeUndefined();
    expect(loadConfig(oidc).sso).toEqual({ issuerUrl: oidc.OIDC_ISSUER_URL, clientId: 'closeloop', clientSecret: 'a-client-secret' });
    expect(loadConfig({ ...oidc, OIDC_ISSUER_URL: 'http://127.0.0.1:9000' }).sso?.issuerUrl).toBe('http://127.0.0.1:9000');
    expect(() => loadConfig({ ...oidc, OIDC_CLIENT_SECRET: '' })).toThrow(/OIDC_ISSUER_URL: single sign-on needs all three/);
    expect(() => loadConfig({ OIDC_ISSUER_URL: oidc.OIDC_ISSUER_URL })).toThrow(/OIDC_ISSUER_URL: single sign-on needs all three/);
    expect(() => loadConfig({ ...oidc, OIDC_ISSUER_URL: 'http://login.example.com' })).toThrow(/OIDC_ISSUER_URL: must be https:\/\//);
  });

  it('when a variable is blank, then it counts as unset', () => {
    expect(loadConfig({ SMTP_URL: '', WEBHOOK_SECRET: '' }).usingDevSecret).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PUBLIC_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_SCHEMA', 'Robert"); DROP TABLE'],
    ['DB_POOL_MAX', '0'],
    ['SMTP_URL', 'http://mail.example'],
    ['WEBHOOK_SECRET', 'short'],
    ['SURVEY_DELAY_MINUTES', '-1'],
    ['TOKEN_TTL_DAYS', '0'],
    ['RATING_CHANGE_DAYS', '1.5'],
    ['NODE_ENV', 'staging'],
    ['DELIVERY_MAX_ATTEMPTS', '0'],
    ['REPORTS_TOKEN', 'short'],
    ['REPORT_TZ', 'Mars/Olympus_Mons'],
    ['MIN_SAMPLE', '0'],
    ['ADMIN_TOKEN', 'short'],
    ['RETENTION_DAYS', '-1'],
    ['SURVEY_SAMPLE_RATE', '1.5'],
    ['SURVEY_THROTTLE_DAYS', '-2'],
    ['INTERNAL_DOMAINS', 'corp.example, not a domain'],
    ['ALERT_DIGEST_MINUTES', '2.5'],
    ['ALERT_DIGEST_MINUTES', '1441'],
    ['REMINDER_AFTER_HOURS', '-1'],
    ['REMINDER_AFTER_HOURS', 'soon'],
    ['REMINDER_AFTER_HOURS', '672'], // TOKEN_TTL_DAYS' default is 28 days = 672 h: no link would be left to remind of
  ])('when %s is %p, then start-up stops with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });

  it('when NODE_ENV=production and WEBHOOK_SECRET is missing, then start-up stops naming WEBHOOK_SECRET', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/WEBHOOK_SECRET: is required when NODE_ENV=production/);
    const c = loadConfig({
      NODE_ENV: 'production',
      WEBHOOK_SECRET: 'a-real-secret-of-some-length',
      REPORTS_TOKEN: 'a-real-reports-token-0123',
      ADMIN_TOKEN: 'a-real-admin-token-0123456',
      PRIVACY_KEY: 'a-real-privacy-key-0123456789abcdef',
    });
    expect(c.usingDevAdminToken).toBe(false);
    expect(c.usingDevSecret).toBe(false);
    expect(c.usingDevReportsToken).toBe(false);
  });

  it('when NODE_ENV=production and REPORTS_TOKEN is missing, then start-up stops naming REPORTS_TOKEN', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', WEBHOOK_SECRET: 'a-real-secret-of-some-length' })).toThrow(
      /REPORTS_TOKEN: is required when NODE_ENV=production\n {2}ADMIN_TOKEN: is required when NODE_ENV=production/,
    );
  });

  it('when NODE_ENV=production and PRIVACY_KEY is missing or shorter than 32 characters, then start-up stops naming it', () => {
    const others = { NODE_ENV: 'production', WEBHOOK_SECRET: 'a-real-secret-of-some-length', REPORTS_TOKEN: 'a-real-reports-token-0123', ADMIN_TOKEN: 'a-real-admin-token-0123456' };
    expect(() => loadConfig(others)).toThrow(/PRIVACY_KEY: is required when NODE_ENV=production/);
    expect(() => loadConfig({ ...others, PRIVACY_KEY: 'x'.repeat(31) })).toThrow(/PRIVACY_KEY: must be at least 32 characters/);
    const c = loadConfig({ ...others, PRIVACY_KEY: 'k'.repeat(32) });
    expect([c.privacyKey, c.usingDevPrivacyKey]).toEqual(['k'.repeat(32), false]);
    expect(loadConfig({}).usingDevPrivacyKey).toBe(true);
  });

  it('when the report settings are unset, then reports use UTC, MIN_SAMPLE 10 and the announced dev token', () => {
    const c = loadConfig({});
    expect([c.reportTz, c.minSample, c.usingDevReportsToken]).toEqual(['UTC', 10, true]);
    expect(loadConfig({ REPORT_TZ: 'Europe/Berlin' }).reportTz).toBe('Europe/Berlin');
  });
});

describe('credentials generated for this install', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cred-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('when the file does not exist, then it is created readable by its owner only, and later starts read the same values', () => {
    const file = path.join(dir, 'data', 'credentials.json');
    const first = loadOrCreateCredentials(file);
    expect(first.created).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = loadOrCreateCredentials(file);
    expect([again.created, again.credentials]).toEqual([false, first.credentials]);
    const c = loadConfig({ DATABASE_URL: `sqlite:${dir}/data/closeloop.sqlite` }, (f) => loadOrCreateCredentials(f).credentials);
    expect([c.webhookSecret, c.reportsToken, c.adminToken]).toEqual([first.credentials.webhookSecret, first.credentials.reportsToken, first.credentials.adminToken]);
  });

  it('when a file written before privacy_key is read, then one is added once, and the other values stay as they were', () => {
    const file = path.join(dir, 'credentials.json');
    const old = { webhook_secret: 'w'.repeat(43), reports_token: 'r'.repeat(43), admin_token: 'a'.repeat(43) };
    fs.writeFileSync(file, JSON.stringify(old), { mode: 0o600 });
    const first = loadOrCreateCredentials(file);
    expect(first.created).toBe(false);
    expect(first.credentials).toEqual({ webhookSecret: old.webhook_secret, reportsToken: old.reports_token, adminToken: old.admin_token, privacyKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ ...old, privacy_key: first.credentials.privacyKey });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['credentials.json']); // no lock or temporary file left
    expect(loadOrCreateCredentials(file).credentials).toEqual(first.credentials);
    const c = loadConfig({ LOCAL_CREDENTIALS_FILE: file }, (f) => loadOrCreateCredentials(f).credentials);
    expect(c.privacyKey).toBe(first.credentials.privacyKey);
  });

  it('when the file was widened or holds something else, then it is narrowed again, or refused', () => {
    const file = path.join(dir, 'credentials.json');
    loadOrCreateCredentials(file);
    fs.chmodSync(file, 0o644);
    loadOrCreateCredentials(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, JSON.stringify({ webhook_secret: PUBLISHED_EXAMPLES[0], reports_token: 'x', admin_token: 'y' }));
    expect(() => loadOrCreateCredentials(file)).toThrow(/does not hold this install's credentials/);
  });
});
