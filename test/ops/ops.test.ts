import request from 'supertest';
import { migrationSource } from '../../migrations';
import { createLogger } from '../../src/shared/logger';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { waitFor } from '../helpers/wait';

const sample = (text: string, name: string, labels = '') => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('/healthz and /readyz', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp();
  });
  afterEach(() => t.close());

  it('when the database answers and the schema is current, then both say so', async () => {
    expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(t.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([200, { status: 'ready' }]);
  });

  it('when a migration is pending, then /readyz answers 503 naming it, and /healthz still 200', async () => {
    await t.db.migrate.down({ migrationSource });
    const ready = await request(t.app).get('/readyz');
    expect([ready.status, ready.body]).toEqual([503, { status: 'not_ready', reason: 'migrations_pending', pending: 1 }]);
    expect((await request(t.app).get('/healthz')).status).toBe(200);
    await t.db.migrate.latest({ migrationSource });
    expect((await request(t.app).get('/readyz')).status).toBe(200);
  });
});

describe('/metrics', () => {
  let t: TestApp;
  const lines: string[] = [];
  afterEach(async () => {
    await t.close();
    lines.length = 0;
  });

  const boot = async (env: Record<string, string> = {}) => {
    t = await bootApp(env, undefined, createLogger('info', { write: (line: string) => void lines.push(line) }));
  };

  it('when webhooks, a send, ratings and a report have happened, then each shows in its metric, with no user data in any label', async () => {
    await boot();
    const payload = ticketPayload({ ticket_id: 'T-secret-ticket-4711', customer: { email: 'private.person@example.com', name: 'Private Person' } });
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await t.postWebhook(payload, { timestamp })).status).toBe(202);
    expect((await t.postWebhook(payload, { timestamp })).status).toBe(202); // the same request again: replayed
    expect((await t.postWebhook(payload, { timestamp: timestamp + 1 })).status).toBe(200); // signed afresh: duplicate
    expect((await t.postWebhook(payload, { secret: 'wrong-secret-0123456789' })).status).toBe(401);
    expect((await t.postWebhook(ticketPayload({ tags: ['no-survey'] }))).body.status).toBe('suppressed');
    t.services.worker.start();
    // The worker logs "survey sent" just after it marked the survey: wait for the line, which is checked below.
    await waitFor(() => lines.some((l) => l.includes('"msg":"survey sent"')));
    expect(Number((await t.db('surveys').where({ status: 'sent' }).count({ n: '*' }).first())?.n)).toBe(1);
    const survey = await t.db('surveys').where({ ticket_id: 'T-secret-ticket-4711' }).first('id');
    const token = await t.services.surveys.issueToken(survey.id);
    await t.services.ratings.recordRating(token, { score: 4 });
    await t.services.ratings.recordRating(token, { score: 5, comment: 'fine' });
    await request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`).expect(200);

    const res = await request(t.app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const m = res.text;
    expect(sample(m, 'closeloop_webhooks_total', 'source="generic",result="scheduled"')).toBe(1);
    expect(sample(m, 'closeloop_webhooks_total', 'source="generic",result="duplicate"')).toBe(1);
    expect(sample(m, 'closeloop_webhooks_total', 'source="generic",result="replayed"')).toBe(1);
    expect(sample(m, 'closeloop_webhooks_total', 'source="generic",result="unauthorized"')).toBe(1);
    expect(sample(m, 'closeloop_webhooks_total', 'source="generic",result="suppressed"')).toBe(1);
    expect(sample(m, 'closeloop_send_attempts_total')).toBe(1);
    expect(sample(m, 'closeloop_emails_sent_total')).toBe(1);
    expect(sample(m, 'closeloop_ratings_total', 'kind="first"')).toBe(1);
    expect(sample(m, 'closeloop_ratings_total', 'kind="changed"')).toBe(1);
    expect(sample(m, 'closeloop_ratings_total', 'kind="comment"')).toBe(1);
    expect(sample(m, 'closeloop_surveys', 'status="sent"')).toBe(1);
    expect(sample(m, 'closeloop_surveys', 'status="scheduled"')).toBe(0);
    expect(sample(m, 'closeloop_surveys_suppressed', 'reason="excluded_tag"')).toBe(1);
    expect(sample(m, 'closeloop_outbox_due')).toBe(0);
    expect(sample(m, 'closeloop_database_up')).toBe(1);
    expect(sample(m, 'closeloop_report_duration_seconds_count', 'report="agents"')).toBe(1);
    expect(sample(m, 'closeloop_http_request_duration_seconds_count', 'method="POST",route="/webhooks/ticket-closed",status="2xx"')).toBe(4);
    expect(m).toContain('route="/reports/agents"');
    for (const secret of ['T-secret-ticket-4711', 'private.person', 'Private Person', token, 'fine']) expect(m).not.toContain(secret);

    // The worker's log lines for this survey carry the id of the request that scheduled it.
    const logs = lines.map((l) => JSON.parse(l));
    const scheduling = logs.find((l) => l.msg === 'request' && l.path === '/webhooks/ticket-closed' && l.status === 202);
    const sent = logs.find((l) => l.msg === 'survey sent' && l.surveyId === survey.id);
    expect(sent?.reqId).toBe(scheduling?.reqId);
    expect(sent?.reqId).toEqual(expect.any(String));
  });

  it('when a survey waits past its due time, then the outbox gauges show its count and age', async () => {
    await boot();
    await t.postWebhook(ticketPayload());
    await t.db('outbox').update({ due_at: new Date(Date.now() - 90_000) });
    const m = (await request(t.app).get('/metrics')).text;
    expect(sample(m, 'closeloop_outbox_due')).toBe(1);
    expect(sample(m, 'closeloop_outbox_oldest_due_seconds')).toBeGreaterThanOrEqual(90);
    expect(sample(m, 'closeloop_surveys', 'status="scheduled"')).toBe(1);
  });

  it('when METRICS_TOKEN is set, then /metrics needs it', async () => {
    await boot({ METRICS_TOKEN: 'metrics-token-0123456789' });
    expect((await request(t.app).get('/metrics')).status).toBe(401);
    expect((await request(t.app).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789')).status).toBe(401);
    expect((await request(t.app).get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789')).status).toBe(200);
  });
});
