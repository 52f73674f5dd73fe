import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createApp } from '../../src/app';
import { createServices } from '../../src/services';
import { ensureStats } from '../../src/surveys/counters/rebuild';
import { createDb } from '../../src/shared/db';
import { migrateLatest } from '../../src/schema';
import { createLogger } from '../../src/shared/logger';
import type { Clock } from '../../src/shared/clock';
import { DefinitionsError, parseDefinitions } from '../../src/surveys/definitions';
import { signBody } from '../../src/shared/signature';
import type { ParsedMail } from 'mailparser';
import { PUBLIC_URL, TEST_SECRET } from '../helpers/boot';
import { sharedDatabaseEnv } from '../helpers/database';
import { ratingLinks, type SmtpTestServer } from '../helpers/smtp';

/**
 * A complete, valid definitions file, one YAML line per array item, so a test can replace
 * line N and name N in the message it expects. Line numbers are 1-based, as in the messages.
 */
export const VALID_LINES = [
  /*  1 */ 'default: handling',
  /*  2 */ 'questions:',
  /*  3 */ '  - id: handling',
  /*  4 */ '    locales:',
  /*  5 */ '      en:',
  /*  6 */ '        subject: How was our support?',
  /*  7 */ '        intro: Your ticket was closed.',
  /*  8 */ '        question: How satisfied were you?',
  /*  9 */ '        labels: { 1: Awful, 2: Poor, 3: Okay, 4: Good, 5: Great }',
  /* 10 */ '        thanks: Thanks a lot!',
  /* 11 */ '      de:',
  /* 12 */ '        subject: Wie war unser Support?',
  /* 13 */ '        intro: Ihr Ticket wurde geschlossen.',
  /* 14 */ '        question: Wie zufrieden waren Sie?',
  /* 15 */ '        labels: { 1: Furchtbar, 2: Schlecht, 3: Okay, 4: Gut, 5: Toll }',
  /* 16 */ '        thanks: Vielen Dank!',
  /* 17 */ '    variants:',
  /* 18 */ '      - { id: control, weight: 50 }',
  /* 19 */ '      - id: short',
  /* 20 */ '        weight: 50',
  /* 21 */ '        locales:',
  /* 22 */ '          en: { question: Happy? }',
  /* 23 */ '          de: { question: Zufrieden? }',
  /* 24 */ 'rules:',
  /* 25 */ '  - { team: billing, question: handling }',
  /* 26 */ 'brands:',
  /* 27 */ '  acme:',
  /* 28 */ '    sender_name: Acme Support',
  /* 29 */ '    sender_address: support@acme.example',
  /* 30 */ '    logo_url: https://acme.example/logo.png',
  /* 31 */ '    accent_color: "#d9480f"',
];

/** VALID_LINES with some lines replaced (by 1-based number); `null` deletes the line, an array splices in several. */
export function validWith(changes: Record<number, string | string[] | null> = {}, extra: string[] = []): string {
  const out: string[] = [];
  VALID_LINES.forEach((line, i) => {
    const change = changes[i + 1];
    if (change === undefined) out.push(line);
    else if (change !== null) out.push(...(Array.isArray(change) ? change : [change]));
  });
  return [...out, ...extra].join('\n') + '\n';
}

/** The fault lines of an invalid file ("file:line: field: message"), or a test failure when it parses. */
export function faultsOf(source: string, file = 'surveys.yml'): string[] {
  try {
    parseDefinitions(source, file);
  } catch (err) {
    if (!(err instanceof DefinitionsError)) throw err;
    const [head, ...lines] = err.message.split('\n');
    expect(head).toBe(`Invalid survey definitions in ${file}:`);
    return lines.map((l) => l.trim());
  }
  throw new Error('expected the definitions to be rejected, but they parsed');
}

/** A temp folder for survey files and template copies; `cleanup` removes it. */
export function tempDir(prefix = 'closeloop-surveys-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    write(name: string, content: string): string {
      const file = path.join(dir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      return file;
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** How handlebars `{{ }}` writes a value into HTML. */
export const html = (s: string) => Handlebars.escapeExpression(s);

export const SHIPPED_SURVEYS = path.join(__dirname, '../../config/surveys.yml');
export const SHIPPED_TEMPLATES = path.join(__dirname, '../../templates');

/**
 * The whole service on a SQLite file the test chooses, so two boots (say, before and after an
 * edit of the survey file) can share one database. Unlike bootApp, close() keeps the file.
 */
export async function bootOn(sqlitePath: string, env: Record<string, string> = {}, clock: Clock = { now: () => new Date() }) {
  const config = loadConfig({
    NODE_ENV: 'test',
    PUBLIC_URL,
    ...sharedDatabaseEnv(sqlitePath),
    MAIL_DIR: path.join(path.dirname(sqlitePath), 'outbox'),
    WEBHOOK_SECRET: TEST_SECRET,
    DELIVERY_RETRY_BASE_SECONDS: '0.05',
    DELIVERY_POLL_MS: '20',
    ...env,
  });
  const db = createDb(config.database);
  await migrateLatest(db);
  await ensureStats(db, config.reportTz);
  const services = createServices({ config, db, clock, logger: createLogger('silent') });
  const app = createApp(services);
  const postWebhook = (body: unknown) => {
    const raw = JSON.stringify(body);
    const ts = String(Math.floor(clock.now().getTime() / 1000));
    return request(app)
      .post('/webhooks/ticket-closed')
      .set('Content-Type', 'application/json')
      .set('X-Closeloop-Timestamp', ts)
      .set('X-Closeloop-Signature', signBody(TEST_SECRET, ts, raw))
      .send(raw);
  };
  return {
    app,
    db,
    config,
    services,
    postWebhook,
    async close() {
      await services.worker.stop();
      services.mailer.close();
      await db.destroy();
    },
  };
}

/** The Authorization header of the reports credential. */
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

type Deliverer = { postWebhook: (body: unknown) => Promise<request.Response>; services: { worker: { drain(): Promise<number> } } };

/** Posts one ticket, lets the worker send it to the real SMTP server, and returns the email that arrived. */
export async function deliverOne(t: Deliverer, smtp: SmtpTestServer, payload: Record<string, unknown>): Promise<{ surveyId: string; mail: ParsedMail; token: string }> {
  const res = await t.postWebhook(payload);
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(res.body)}`);
  const surveyId: string = res.body.survey_id;
  const messageId = `<survey.${surveyId}@${new URL(PUBLIC_URL).hostname}>`;
  await t.services.worker.drain();
  const deadline = Date.now() + 60_000; // a safety net (see helpers/wait.ts)
  let mail: ParsedMail | undefined;
  while (!(mail = smtp.messages.find((m) => m.messageId === messageId))) {
    if (Date.now() > deadline) throw new Error(`no email arrived for survey ${surveyId}`);
    await new Promise((r) => setTimeout(r, 20)); // pacing of this poll loop; it waits for the email, asserts no absence
  }
  const links = ratingLinks(mail);
  if (links.length !== 5) throw new Error(`expected 5 rating links, found ${links.length}`);
  return { surveyId, mail, token: new URL(links[0]).pathname.split('/')[2] };
}
