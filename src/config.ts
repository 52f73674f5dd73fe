import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from './shared/views';
import type { DatabaseConfig } from './shared/db';
import type { EligibilityPolicy } from './surveys/eligibility';
import { AGENT_CREDIT_CHOICES, type AgentCredit } from './surveys/credit';
import { isTimeZone } from './shared/period';

import { ephemeralCredentials, PUBLISHED_EXAMPLES, type LocalCredentials } from './credentials';

/** A secret that is no example anyone has read: the strings once printed in the README are refused. */
const secret = (min: number) =>
  z
    .string()
    .min(min, `must be at least ${min} characters`)
    .refine((v) => !PUBLISHED_EXAMPLES.includes(v), 'is a published example value; choose your own (e.g. openssl rand -base64 32)');

const items = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
/** A comma-separated list, trimmed and lowercased, empty items dropped. */
const list = z.string().transform((s) => items(s).map((x) => x.toLowerCase()));
/** The same, keeping case (URLs). */
const caseList = z.string().transform(items);

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** An explicit yes/no: only `true` or `false` (an opt-out of a safe default is spelled out). */
const flag = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true');

/** Loopback needs no TLS: 127.0.0.0/8, ::1, localhost (a URL's hostname, as the URL parser wrote it). */
const isLoopback = (hostname: string) => /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]' || hostname === 'localhost';

/** nodemailer reads options from the URL's query too: ignoreTLS, or requireTLS=false, would send mail in clear. */
function asksForPlaintext(smtpUrl: string): boolean {
  const query = URL.canParse(smtpUrl) ? new URL(smtpUrl).searchParams : new URLSearchParams();
  const off = (v: string | null) => v === 'false' || v === '0';
  return (query.has('ignoreTLS') && !off(query.get('ignoreTLS'))) || off(query.get('requireTLS'));
}

/** A rating webhook receiver gets comments and a signature: https://, or http:// on loopback or when allowed by name. */
function receiverProblem(url: string, allowHttp: boolean): string | undefined {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed) return 'must be http(s) URLs, comma-separated';
  if (parsed.protocol === 'https:' || isLoopback(parsed.hostname) || allowHttp) return undefined;
  // Only the origin: a receiver's path or query may hold its own credential.
  return `${parsed.origin} is http:// and not loopback: rating events (comments included) would travel unencrypted; use https://, or set RATING_WEBHOOK_ALLOW_HTTP=true to accept it`;
}

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    PORT: intFrom(0, 65535).default(3000),
    PUBLIC_URL: z.string().url().optional(),
    DATABASE_URL: z
      .string()
      .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must look like sqlite:<path> or postgres://user:password@host:5432/database')
      .default('sqlite:./data/closeloop.sqlite'),
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a plain PostgreSQL schema name (a-z, 0-9, _)').optional(),
    DB_POOL_MAX: intFrom(1, 1000).default(10),
    DB_ACQUIRE_TIMEOUT_MS: intFrom(100, 600_000).default(10_000),
    DB_STATEMENT_TIMEOUT_MS: intFrom(0, 3_600_000).default(30_000),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/.+/, 'must be an smtp:// or smtps:// URL')
      .optional(),
    SMTP_ALLOW_PLAINTEXT: flag.prefault('false'),
    MAIL_DIR: z.string().min(1).default('./data/outbox'),
    MAIL_FROM: z.string().min(3).default('Closeloop <surveys@localhost>'),
    WEBHOOK_SECRET: secret(16).optional(),
    WEBHOOK_SECRET_PREVIOUS: secret(16).optional(),
    REPORTS_TOKEN_PREVIOUS: secret(16).optional(),
    ADMIN_TOKEN_PREVIOUS: secret(16).optional(),
    SURVEY_DELAY_MINUTES: intFrom(0, 60 * 24 * 30).default(0),
    TOKEN_TTL_DAYS: intFrom(1, 365).default(28),
    RATING_CHANGE_DAYS: intFrom(0, 365).default(14),
    RATING_HOLD_SECONDS: intFrom(5, 3600).default(60),
    ALERT_MAX_SCORE: intFrom(1, 4).default(2),
    ALERT_WEBHOOK_URL: z.string().regex(/^https?:\/\/[^\s,]+$/, 'must be one http(s) URL').optional(),
    ALERT_DIGEST_MINUTES: intFrom(0, 24 * 60).default(0),
    REMINDER_AFTER_HOURS: z.coerce.number().min(0).max(24 * 365).default(0),
    SESSION_IDLE_MINUTES: intFrom(5, 7 * 24 * 60).default(8 * 60),
    SESSION_MAX_HOURS: intFrom(1, 24 * 90).default(7 * 24),
    AUDIT_RETENTION_DAYS: intFrom(1, 36_500).default(365),
    AGENT_VIEW: z.enum(['own', 'none'], { message: 'must be own or none' }).default('own'),
    OIDC_ISSUER_URL: z.string().url().optional(),
    OIDC_CLIENT_ID: z.string().min(1).max(1000).optional(),
    OIDC_CLIENT_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    DELIVERY_MAX_ATTEMPTS: intFrom(1, 50).default(10),
    DELIVERY_RETRY_BASE_SECONDS: z.coerce.number().min(0.01).max(3600).default(30),
    DELIVERY_POLL_MS: intFrom(10, 60_000).default(1000),
    DELIVERY_CONCURRENCY: intFrom(1, 100).default(5),
    DELIVERY_LEASE_SECONDS: intFrom(5, 86_400).default(300),
    REPORTS_TOKEN: secret(16).optional(),
    ZENDESK_WEBHOOK_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    HELPSCOUT_WEBHOOK_SECRET: z.string().min(8, 'must be at least 8 characters').max(40, 'Help Scout allows at most 40 characters').optional(),
    FRESHDESK_WEBHOOK_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    INTERCOM_CLIENT_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
    ADMIN_TOKEN: secret(16).optional(),
    RATING_WEBHOOK_URL: caseList
      .refine((l) => l.every((u) => /^https?:\/\/[^\s,]+$/.test(u)), 'must be http(s) URLs, comma-separated')
      .prefault(''),
    RATING_WEBHOOK_SECRET: secret(16).optional(),
    RATING_WEBHOOK_ALLOW_HTTP: flag.prefault('false'),
    RETENTION_DAYS: intFrom(0, 36_500).default(0),
    PRIVACY_KEY: secret(32).optional(),
    REPORT_TZ: z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin').default('UTC'),
    MIN_SAMPLE: intFrom(1, 100_000).default(10),
    SURVEYS_FILE: z.string().min(1).optional(),
    SURVEY_THROTTLE_DAYS: intFrom(0, 3650).default(0),
    SURVEY_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
    SURVEY_EXCLUDE_TAGS: list.prefault('no-survey,no_csat,spam'),
    AGENT_CREDIT: z.enum(AGENT_CREDIT_CHOICES, { message: `must be one of ${AGENT_CREDIT_CHOICES.join(', ')}` }).default('last_reply'),
    INTERNAL_DOMAINS: list.refine((l) => l.every((d) => /^[a-z0-9.-]+\.[a-z]{2,}$/.test(d)), 'must be domain names like example.com, comma-separated').prefault(''),
    TEMPLATES_DIR: z.string().min(1).optional(),
    RATE_LIMIT_PER_MINUTE: intFrom(1, 1_000_000).default(120),
    WEBHOOK_AUTH_FAILURES_PER_MINUTE: intFrom(1, 1_000_000).default(20),
    METRICS_TOKEN: secret(16).optional(),
    LOCAL_CREDENTIALS_FILE: z.string().min(1).optional(),
    TRUST_PROXY: z.string().regex(/^[0-9A-Za-z.:/, ]+$/, 'must be a hop count or comma-separated addresses/subnets (loopback, 10.0.0.0/8)').default('loopback'),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_SCHEMA && env.DATABASE_URL.startsWith('sqlite:')) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_SCHEMA'], message: 'applies to PostgreSQL only; DATABASE_URL names a SQLite file' });
    }
    if (env.NODE_ENV === 'production' && !env.WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    for (const url of env.RATING_WEBHOOK_URL) {
      const problem = receiverProblem(url, env.RATING_WEBHOOK_ALLOW_HTTP);
      if (problem) ctx.addIssue({ code: 'custom', path: ['RATING_WEBHOOK_URL'], message: problem });
    }
    if (env.SMTP_URL && asksForPlaintext(env.SMTP_URL) && !env.SMTP_ALLOW_PLAINTEXT) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'asks to send without STARTTLS (ignoreTLS/requireTLS in its query); set SMTP_ALLOW_PLAINTEXT=true to allow mail in clear' });
    }
    const alertProblem = env.ALERT_WEBHOOK_URL && receiverProblem(env.ALERT_WEBHOOK_URL, env.RATING_WEBHOOK_ALLOW_HTTP);
    if (alertProblem) ctx.addIssue({ code: 'custom', path: ['ALERT_WEBHOOK_URL'], message: alertProblem });
    if (env.REMINDER_AFTER_HOURS >= env.TOKEN_TTL_DAYS * 24) {
      ctx.addIssue({ code: 'custom', path: ['REMINDER_AFTER_HOURS'], message: `must be less than the rating links' lifetime (TOKEN_TTL_DAYS = ${env.TOKEN_TTL_DAYS} days), or no reminder could go out` });
    }
    const oidc = [env.OIDC_ISSUER_URL, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER_URL'], message: 'single sign-on needs all three of OIDC_ISSUER_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or none' });
    }
    const issuer = env.OIDC_ISSUER_URL && new URL(env.OIDC_ISSUER_URL);
    if (issuer && issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopback(issuer.hostname))) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER_URL'], message: 'must be https:// (http:// only on loopback, for a provider on this machine)' });
    }
    if (env.RATING_WEBHOOK_URL.length && !env.RATING_WEBHOOK_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['RATING_WEBHOOK_SECRET'], message: 'is required when RATING_WEBHOOK_URL is set' });
    }
    for (const name of ['REPORTS_TOKEN', 'ADMIN_TOKEN', 'PRIVACY_KEY'] as const) {
      if (env.NODE_ENV === 'production' && !env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
    }
  });

export type Config = Readonly<{
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: string;
  port: number;
  publicUrl: string;
  database: DatabaseConfig;
  smtpUrl?: string;
  /** smtp:// without STARTTLS is allowed (SMTP_ALLOW_PLAINTEXT); otherwise an smtp:// connection must upgrade or nothing is sent. */
  smtpAllowPlaintext: boolean;
  mailDir: string;
  mailFrom: string;
  webhookSecret: string;
  /** true when the secret was not configured and this install's generated one is used (LOCAL_CREDENTIALS_FILE); the same for the two below. */
  usingDevSecret: boolean;
  surveyDelayMinutes: number;
  tokenTtlDays: number;
  ratingChangeDays: number;
  /** ALERT_MAX_SCORE: a counted rating at or below it opens a follow-up. */
  alertMaxScore: number;
  /** ALERT_WEBHOOK_URL: an incoming webhook (Slack, Mattermost, Teams) told of each new follow-up. */
  alertWebhookUrl?: string;
  /** ALERT_DIGEST_MINUTES: 0 mails each lead alert at once; more gathers a team's alerts for that long into one email. */
  alertDigestMinutes: number;
  /** REMINDER_AFTER_HOURS: 0 sends no reminder; more sends one that long after the first email to a survey with no counted rating. */
  reminderAfterHours: number;
  /** Signed-in sessions end after SESSION_IDLE_MINUTES without a request, and SESSION_MAX_HOURS after sign-in whatever happens. */
  sessions: { idleMinutes: number; maxHours: number };
  /** AUDIT_RETENTION_DAYS: how long the audit trail is kept. */
  auditRetentionDays: number;
  /** AGENT_VIEW: `own` lets a signed-in agent read their own ratings; `none` shows agents nothing. */
  agentView: 'own' | 'none';
  /** OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: "Sign in with SSO" through this OpenID Connect provider; unset, sign-in is by emailed link only. */
  sso?: Readonly<{ issuerUrl: string; clientId: string; clientSecret: string }>;
  /** How long a rating the page posted by itself waits for mail-scanner signals before it counts (also the window they are looked for in). */
  ratingHoldSeconds: number;
  reportsToken: string;
  usingDevReportsToken: boolean;
  /** Per-helpdesk secrets; an adapter without one is off. */
  helpdesks: Readonly<{ zendesk?: string; helpscout?: string; freshdesk?: string; intercom?: string }>;
  adminToken: string;
  usingDevAdminToken: boolean;
  /** Erase customer identity and comments of surveys closed longer ago than this; 0 = keep. */
  retentionDays: number;
  /** The key of the keyed hashes that stand for addresses in opt_outs and unsubscribe_tokens (shared/address-hash.ts). */
  privacyKey: string;
  usingDevPrivacyKey: boolean;
  ratingWebhooks: Readonly<{ urls: readonly string[]; secret: string }>;
  reportTz: string;
  minSample: number;
  surveysFile: string;
  eligibility: EligibilityPolicy;
  /** Whom a ticket's rating is credited to first (surveys/credit.ts). */
  agentCredit: AgentCredit;
  templatesDir: string;
  rateLimits: Readonly<{ publicPerMinute: number; webhookFailuresPerMinute: number }>;
  /** Unset: /metrics is open (keep it off the public internet); set: Bearer token required. */
  metricsToken?: string;
  localCredentialsFile: string;
  /** The secret being rotated out (*_PREVIOUS), still accepted until it is unset: rotation without downtime. */
  previous: Readonly<{ webhookSecret?: string; reportsToken?: string; adminToken?: string }>;
  /** express's "trust proxy": which proxies' X-Forwarded-For to believe for the client address (rate limits, logs). */
  trustProxy: string | number;
  delivery: Readonly<{ maxAttempts: number; retryBaseSeconds: number; pollMs: number; concurrency: number; leaseSeconds: number }>;
}>;

export type { DatabaseConfig };

export class ConfigError extends Error {}

/** Parses env once at boot; any invalid variable stops the process with its name. */
/**
 * `localCredentials` supplies the secrets left unset outside production (main.ts: the install's
 * generated file, see credentials.ts); without it they are random for this process only.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, localCredentials: (file: string) => LocalCredentials = ephemeralCredentials): Config {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const generated = !e.WEBHOOK_SECRET || !e.REPORTS_TOKEN || !e.ADMIN_TOKEN || !e.PRIVACY_KEY;
  // Beside the SQLite file (the install's data folder), else ./data.
  const credentialsFile = e.LOCAL_CREDENTIALS_FILE ?? path.join(e.DATABASE_URL.startsWith('sqlite:') && e.DATABASE_URL !== 'sqlite::memory:' ? path.dirname(e.DATABASE_URL.slice('sqlite:'.length)) : './data', 'credentials.json');
  const local = generated ? localCredentials(credentialsFile) : undefined;
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    database: Object.freeze(
      e.DATABASE_URL.startsWith('sqlite:')
        ? { client: 'sqlite' as const, path: e.DATABASE_URL.slice('sqlite:'.length) }
        : {
            client: 'pg' as const,
            url: e.DATABASE_URL,
            schema: e.DATABASE_SCHEMA,
            poolMax: e.DB_POOL_MAX,
            acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
            statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
          },
    ),
    smtpUrl: e.SMTP_URL,
    smtpAllowPlaintext: e.SMTP_ALLOW_PLAINTEXT,
    mailDir: e.MAIL_DIR,
    mailFrom: e.MAIL_FROM,
    webhookSecret: e.WEBHOOK_SECRET ?? (local as LocalCredentials).webhookSecret,
    usingDevSecret: !e.WEBHOOK_SECRET,
    surveyDelayMinutes: e.SURVEY_DELAY_MINUTES,
    tokenTtlDays: e.TOKEN_TTL_DAYS,
    ratingChangeDays: e.RATING_CHANGE_DAYS,
    alertMaxScore: e.ALERT_MAX_SCORE,
    alertWebhookUrl: e.ALERT_WEBHOOK_URL,
    alertDigestMinutes: e.ALERT_DIGEST_MINUTES,
    reminderAfterHours: e.REMINDER_AFTER_HOURS,
    sessions: { idleMinutes: e.SESSION_IDLE_MINUTES, maxHours: e.SESSION_MAX_HOURS },
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    agentView: e.AGENT_VIEW,
    sso: e.OIDC_ISSUER_URL && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET ? Object.freeze({ issuerUrl: e.OIDC_ISSUER_URL, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET }) : undefined,
    ratingHoldSeconds: e.RATING_HOLD_SECONDS,
    reportsToken: e.REPORTS_TOKEN ?? (local as LocalCredentials).reportsToken,
    usingDevReportsToken: !e.REPORTS_TOKEN,
    helpdesks: Object.freeze({
      zendesk: e.ZENDESK_WEBHOOK_SECRET,
      helpscout: e.HELPSCOUT_WEBHOOK_SECRET,
      freshdesk: e.FRESHDESK_WEBHOOK_TOKEN,
      intercom: e.INTERCOM_CLIENT_SECRET,
    }),
    adminToken: e.ADMIN_TOKEN ?? (local as LocalCredentials).adminToken,
    usingDevAdminToken: !e.ADMIN_TOKEN,
    retentionDays: e.RETENTION_DAYS,
    privacyKey: e.PRIVACY_KEY ?? (local as LocalCredentials).privacyKey,
    usingDevPrivacyKey: !e.PRIVACY_KEY,
    ratingWebhooks: Object.freeze({ urls: Object.freeze(e.RATING_WEBHOOK_URL), secret: e.RATING_WEBHOOK_SECRET ?? '' }),
    reportTz: e.REPORT_TZ,
    minSample: e.MIN_SAMPLE,
    eligibility: Object.freeze({
      throttleDays: e.SURVEY_THROTTLE_DAYS,
      sampleRate: e.SURVEY_SAMPLE_RATE,
      excludeTags: Object.freeze(e.SURVEY_EXCLUDE_TAGS),
      internalDomains: Object.freeze(e.INTERNAL_DOMAINS),
    }),
    agentCredit: e.AGENT_CREDIT,
    surveysFile: path.resolve(e.SURVEYS_FILE ?? path.join(projectRoot(), 'config', 'surveys.yml')),
    templatesDir: path.resolve(e.TEMPLATES_DIR ?? path.join(projectRoot(), 'templates')),
    rateLimits: Object.freeze({ publicPerMinute: e.RATE_LIMIT_PER_MINUTE, webhookFailuresPerMinute: e.WEBHOOK_AUTH_FAILURES_PER_MINUTE }),
    metricsToken: e.METRICS_TOKEN,
    localCredentialsFile: credentialsFile,
    previous: Object.freeze({ webhookSecret: e.WEBHOOK_SECRET_PREVIOUS, reportsToken: e.REPORTS_TOKEN_PREVIOUS, adminToken: e.ADMIN_TOKEN_PREVIOUS }),
    trustProxy: /^\d+$/.test(e.TRUST_PROXY) ? Number(e.TRUST_PROXY) : e.TRUST_PROXY,
    delivery: Object.freeze({
      maxAttempts: e.DELIVERY_MAX_ATTEMPTS,
      retryBaseSeconds: e.DELIVERY_RETRY_BASE_SECONDS,
      pollMs: e.DELIVERY_POLL_MS,
      concurrency: e.DELIVERY_CONCURRENCY,
      leaseSeconds: e.DELIVERY_LEASE_SECONDS,
    }),
  });
}
