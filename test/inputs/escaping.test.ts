import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import request from 'supertest';
import { bootApp, manualClock, PUBLIC_URL, type TestApp } from '../helpers/boot';
import { testCertificate, withTestCa } from '../helpers/tls';
import { csvDefused, FRAGMENTS, hostileText, htmlEscaped, inputLog, INJECTED_MARKUP, parseCsv, PROPERTY_TIMEOUT_MS, segment, stored, validLine, wellFormed } from './arbitraries';

/**
 * Hostile strings that the contract accepts (markup, header-like text, SQL, formula starts,
 * unicode edge cases) go all the way through: webhook → stored row → delivered email (through a
 * real SMTP server, envelope and headers included) → rating pages → reports as JSON, CSV and
 * HTML. Each must come back exactly (JSON, stored row, text mail), escaped (HTML), or defused
 * (CSV), and never add a recipient, a header or markup.
 */

const NOW = new Date('2026-11-20T12:00:00Z');
const DAY = '2026-11-20';
const EXCLUDED_TAGS = ['no-survey', 'no_csat', 'spam'];
const log = inputLog('escaping.test.ts');

/** Headers a survey email may carry; anything else was injected. */
const MAIL_HEADERS = new Set([
  'from', 'to', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding',
  'auto-submitted', 'list-unsubscribe', 'list-unsubscribe-post', 'in-reply-to', 'references',
]);

type Captured = { rcptTo: string[]; mail: ParsedMail };

/** A loopback SMTP server that keeps each message with its envelope: who the mail really went to. */
async function startCapture() {
  const received: Captured[] = [];
  const server = new SMTPServer({
    authOptional: true,
    ...testCertificate(), // STARTTLS, as the production default requires (helpers/tls.ts)
    logger: false,
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ rcptTo: session.envelope.rcptTo.map((a) => a.address), mail });
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { url: withTestCa(`smtp://127.0.0.1:${port}`), received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let seq = 0;

/** One ticket's worth of hostile but contract-valid data, plus the comment the customer will write. */
const ticketInput = fc.record({
  // Ids get a unique suffix inside the property (not here: shrinking replays generated values).
  ticketId: validLine(120),
  customerName: fc.option(validLine(200), { nil: undefined }),
  agentId: validLine(120),
  agentName: fc.option(validLine(200), { nil: undefined }),
  team: fc.option(validLine(128), { nil: undefined }),
  subject: fc.option(validLine(500), { nil: undefined }),
  tags: fc.array(validLine(100), { maxLength: 3 }).map((tags) => tags.filter((tag) => !EXCLUDED_TAGS.includes(tag.trim().toLowerCase()))),
  brand: fc.option(validLine(128), { nil: undefined }),
  locale: fc.option(fc.constantFrom('en', 'de', 'fr', 'es', 'de-AT', 'pt-BR', 'zz'), { nil: undefined }),
  threadId: fc.option(
    // Control characters in thread ids have their own property below.
    fc.tuple(hostileText({ sets: ['markup', 'header', 'sql', 'unicode'], maxPieces: 3 }), fc.domain()).map(([local, host]) => `<${wellFormed(local).replace(/[<>\s\u0000-\u001f\u007f]/g, '') || 'x'}@${host}>`),
    { nil: undefined },
  ),
  score: fc.integer({ min: 1, max: 5 }),
  // Comments are free text: line breaks and tabs included (NUL and unpaired surrogates have their own property in rating.test.ts).
  comment: fc.option(hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode'], maxPieces: 8 }).map((c) => c.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '') + ['', '\r\n', '\n\tP.S.'][c.length % 3]), { nil: undefined }),
});

describe('hostile strings from webhook to email, pages and reports (property-based)', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startCapture>>;
  let auth: string;
  const report = (path: string) => request(t.app).get(path).set('Authorization', auth);

  beforeAll(async () => {
    smtp = await startCapture();
    t = await bootApp({ SMTP_URL: smtp.url }, manualClock(NOW));
    auth = `Bearer ${t.config.reportsToken}`;
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    log.print();
  });

  const noInjectedMarkup = (html: string) => expect(html).not.toMatch(INJECTED_MARKUP);

  it(
    'when names, ids, team, subject, tags and comment carry markup, header-like text, SQL, formula starts and unicode edge cases, then every output gives them back exactly, escaped or defused',
    async () => {
      await log.check(
        'tickets end to end (webhook, mail, pages, reports)',
        ticketInput,
        async (generated) => {
          seq += 1;
          const input = { ...generated, ticketId: `${generated.ticketId} #${seq}`, agentId: `${generated.agentId} #${seq}` };
          const email = `e2e${seq}@example.com`;
          const payload = {
            ticket_id: input.ticketId,
            closed_at: `${DAY}T10:00:00Z`,
            customer: { email, name: input.customerName },
            agent: { id: input.agentId, name: input.agentName, email: `agent${seq}@support.example` },
            team: input.team,
            subject: input.subject,
            tags: input.tags,
            brand: input.brand,
            locale: input.locale,
            thread_message_id: input.threadId,
          };
          const want = {
            ticketId: stored(input.ticketId),
            customerName: input.customerName === undefined ? null : stored(input.customerName),
            agentId: stored(input.agentId),
            agentName: input.agentName === undefined ? null : stored(input.agentName),
            team: input.team === undefined ? null : stored(input.team),
            subject: input.subject === undefined ? null : stored(input.subject),
            comment: input.comment === undefined ? null : wellFormed(input.comment.trim()) || null,
          };

          // 1. The webhook accepts it and the row holds every string as sent (trimmed).
          const res = await t.postWebhook(payload);
          log.answer(res.status);
          expect([res.status, res.body]).toEqual([202, expect.objectContaining({ status: 'scheduled' })]);
          const surveyId: string = res.body.survey_id;
          const row = await t.db('surveys').where({ id: surveyId }).first();
          expect({
            ticketId: row.ticket_id,
            customerName: row.customer_name,
            agentId: row.agent_id,
            agentName: row.agent_name,
            team: row.team,
            subject: row.subject,
          }).toEqual({ ...want, comment: undefined });
          expect(JSON.parse(row.tags)).toEqual(input.tags.map(stored));
          expect(row.thread_message_id).toBe(input.threadId ?? null);

          // 2. The email: one recipient, no header beyond ours, the strings escaped in HTML and as written in text.
          expect(await t.services.worker.drain()).toBe(1);
          const delivered = smtp.received.find((m) => m.mail.messageId === row.message_id);
          expect(delivered).toBeDefined();
          const { mail, rcptTo } = delivered as Captured;
          expect(rcptTo).toEqual([email]);
          expect(mail.to).toMatchObject({ value: [{ address: email }] });
          expect((mail.to as { value: unknown[] }).value).toHaveLength(1);
          expect(mail.cc).toBeUndefined();
          expect(mail.bcc).toBeUndefined();
          expect(mail.headerLines.map((h) => h.key).filter((h) => !MAIL_HEADERS.has(h))).toEqual([]);
          expect(mail.subject).toBe(JSON.parse(row.wording).subject);
          if (input.threadId) expect(mail.inReplyTo).toBe(input.threadId);
          const html = String(mail.html);
          noInjectedMarkup(html);
          if (want.customerName) {
            expect(html).toContain(htmlEscaped(want.customerName));
            expect(mail.text).toContain(want.customerName);
          }
          if (want.subject) {
            expect(html).toContain(htmlEscaped(want.subject));
            expect(mail.text).toContain(want.subject);
          }

          // 3. The rating pages: the link's page, the rating, the comment shown back escaped.
          const link = /\/r\/([A-Za-z0-9_-]{43})\/[1-5]/.exec(mail.text ?? '');
          expect(link).not.toBeNull();
          const token = (link as RegExpExecArray)[1];
          const page = await request(t.app).get(`/r/${token}/${input.score}`);
          expect(page.status).toBe(200);
          noInjectedMarkup(page.text);
          const rated = await request(t.app)
            .post(`/r/${token}`)
            .set('Origin', new URL(PUBLIC_URL).origin)
            .set('Sec-Fetch-Site', 'same-origin')
            .send({ score: input.score, ...(input.comment !== undefined && { comment: input.comment }) });
          expect(rated.status).toBe(200);
          expect([rated.body.score, rated.body.comment === null ? null : wellFormed(rated.body.comment)]).toEqual([input.score, want.comment]);
          const thanks = await request(t.app).get(`/r/${token}`);
          expect(thanks.status).toBe(200);
          noInjectedMarkup(thanks.text);
          expect(thanks.text).toContain(`>${htmlEscaped(want.comment ?? '')}</textarea>`);

          // 4. Reports as JSON: the strings round-trip exactly.
          const period = `from=${DAY}&to=${DAY}`;
          const agents = await report(`/reports/agents?${period}&format=json`);
          expect(agents.status).toBe(200);
          const agentRow = agents.body.agents.find((a: { agent_id: string }) => a.agent_id === want.agentId);
          expect(agentRow).toMatchObject({ agent_name: want.agentName, team: want.team, responses: 1, comments: want.comment ? 1 : 0 });
          const drillPath = `/reports/agents/${segment(want.agentId)}?${period}`;
          const drill = await report(`${drillPath}&format=json`);
          expect(drill.status).toBe(200);
          expect(drill.body.agent).toMatchObject({ agent_id: want.agentId, agent_name: want.agentName, team: want.team });
          expect(drill.body.ratings.items).toEqual([
            expect.objectContaining({ survey_id: surveyId, ticket_id: want.ticketId, subject: want.subject, team: want.team, score: input.score, comment: want.comment }),
          ]);

          // 5. Reports as CSV: RFC 4180 holds, formula starts are defused, nothing else changes.
          const csv = await report(`/reports/agents?${period}&format=csv`);
          expect(csv.status).toBe(200);
          const [header, ...rows] = parseCsv(csv.text);
          for (const r of rows) expect(r).toHaveLength(header.length);
          const cells = rows.find((r) => r[0] === csvDefused(want.agentId));
          expect(cells).toBeDefined();
          const col = (name: string) => (cells as string[])[header.indexOf(name)];
          expect([col('agent_name'), col('team')]).toEqual([want.agentName === null ? '' : csvDefused(want.agentName), want.team === null ? '' : csvDefused(want.team)]);

          // 6. Reports as HTML: the dashboard (also filtered by this team) and the drill-down escape every string.
          const dashboard = await report(`/reports/agents?${period}${want.team ? `&team=${encodeURIComponent(want.team)}` : ''}&format=html`);
          expect(dashboard.status).toBe(200);
          noInjectedMarkup(dashboard.text);
          expect(dashboard.text).toContain(`>${htmlEscaped(want.agentName ?? want.agentId)}</a>`);
          expect(dashboard.text).toContain(`href="${htmlEscaped(`/reports/agents/${encodeURIComponent(want.agentId)}?`)}`);
          if (want.team) {
            expect(dashboard.text).toContain(`<td class="text" data-label="Team">${htmlEscaped(want.team)}</td>`);
            expect(dashboard.text).toContain(`name="team" value="${htmlEscaped(want.team)}"`);
          }
          const drillHtml = await report(`${drillPath}&format=html`);
          expect(drillHtml.status).toBe(200);
          noInjectedMarkup(drillHtml.text);
          expect(drillHtml.text).toContain(`<h1>${htmlEscaped(want.agentName ?? want.agentId)}</h1>`);
          expect(drillHtml.text).toContain(`<td class="text" data-label="Ticket">${htmlEscaped(want.ticketId)}</td>`);
          expect(drillHtml.text).toContain(`<td class="text" data-label="Subject">${htmlEscaped(want.subject ?? '')}</td>`);
          expect(drillHtml.text).toContain(`<td class="comment" data-label="Comment">${htmlEscaped(want.comment ?? '')}</td>`);
        },
        25,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when thread_message_id carries any character its documented shape admits, then the delivered In-Reply-To and References carry it exactly and no header line holds a control character',
    async () => {
      // Control characters are refused at the webhook (webhook.test.ts); C1 (\u0085) and the rest are admitted.
      const odd = fc.constantFrom('\u0085', 'é', '王', '😀', '"', ',', '(', ')', ';', ':', '\\', '=?utf-8?q?x?=');
      const threadId = fc
        .tuple(fc.array(fc.oneof(odd, fc.stringMatching(/^[A-Za-z0-9.]{1,4}$/)), { minLength: 1, maxLength: 4 }), fc.domain())
        .map(([local, host]) => `<${local.join('')}@${host}>`);
      await log.check(
        'thread ids into mail headers',
        threadId,
        async (id) => {
          seq += 1;
          const res = await t.postWebhook({
            ticket_id: `T-thread-${seq}`,
            closed_at: `${DAY}T10:00:00Z`,
            customer: { email: `thread${seq}@example.com` },
            agent: { id: 'a-thread' },
            thread_message_id: id,
          });
          log.answer(res.status);
          expect(res.status).toBe(202);
          expect(await t.services.worker.drain()).toBe(1);
          const row = await t.db('surveys').where({ id: res.body.survey_id }).first();
          const { mail } = smtp.received.find((m) => m.mail.messageId === row.message_id) as Captured;
          for (const h of mail.headerLines) expect(h.line).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/);
          // The raw lines, not mailparser's reading of them (it decodes =?…?= even inside an id).
          // mailparser keeps raw header lines as binary strings: read their bytes back as UTF-8.
          const line = (key: string) => {
            const raw = mail.headerLines.find((h) => h.key === key)?.line ?? '';
            return Buffer.from(raw, 'latin1').toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
          };
          expect([line('in-reply-to'), line('references')]).toEqual([`In-Reply-To: ${id}`, `References: ${id}`]);
        },
        30,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'when a report is filtered by any team, brand, question or variant text, or asked for any agent id, then it answers 200, 400 or 404 and echoes the text escaped',
    async () => {
      const text = fc.oneof(hostileText({ sets: ['markup', 'header', 'sql', 'formula', 'unicode', 'control'] }), fc.string({ unit: 'binary', maxLength: 130 }));
      await log.check(
        'report filters and agent ids',
        fc.record({ name: fc.constantFrom('team', 'brand', 'question', 'variant', 'agent id'), value: text, format: fc.constantFrom('html', 'json', 'csv') }),
        async ({ name, value, format }) => {
          const sent = wellFormed(value);
          if (name === 'agent id') {
            // No agent has such an id (the seeded ones end in " #n"): a drill-down that finds nothing.
            const res = await report(`/reports/agents/${segment(sent)}?from=${DAY}&to=${DAY}&format=${format}`);
            log.answer(res.status);
            expect(res.status).toBe(sent === '' ? 200 : format === 'csv' ? 400 : 404);
            if (format === 'html') noInjectedMarkup(res.text);
            return;
          }
          const res = await report(`/reports/agents?from=${DAY}&to=${DAY}&${name}=${encodeURIComponent(sent)}&format=${format}`);
          log.answer(res.status);
          expect(res.status).toBeLessThan(500);
          if (sent.length > 128 || /[\u0000-\u001f\u007f]/.test(sent)) {
            expect(res.status).toBe(400); // longer than a name can be, or with control characters
            return;
          }
          expect(res.status).toBe(200);
          if (format === 'html') {
            noInjectedMarkup(res.text);
            if (sent !== '') expect(res.text).toContain(`name="${name}" value="${htmlEscaped(sent)}"`);
          }
        },
        80,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('when the fragment families are listed, then the markup ones are the ones INJECTED_MARKUP looks for', () => {
    // Guards the oracle: if a fragment is renamed, the "no injected markup" check must still recognise it.
    const tags = FRAGMENTS.markup.filter((f) => /<(script|img|svg|b |iframe|a |style)/.test(f));
    for (const fragment of tags) expect(fragment).toMatch(INJECTED_MARKUP);
  });
});
