import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signBody } from '../../src/webhooks/signature';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { refuseWrites } from '../helpers/database';
import { waitFor } from '../helpers/wait';

const SECRET = 'rating-hook-secret-0123456789';

/** A receiver on a fixed loopback port that can be down (not listening), failing (503) or up. */
async function receiver() {
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const received: Array<{ body: Record<string, unknown>; signatureOk: boolean }> = [];
  const state = { failWith: 0 };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (state.failWith) return void res.writeHead(state.failWith).end();
      const ts = String(req.headers['x-closeloop-timestamp']);
      received.push({ body: JSON.parse(raw), signatureOk: req.headers['x-closeloop-signature'] === signBody(SECRET, ts, raw) });
      res.writeHead(204).end();
    });
  });
  return {
    url: `http://127.0.0.1:${port}/hooks/csat`,
    received,
    state,
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    down: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('rating webhooks (RATING_WEBHOOK_URL)', () => {
  let t: TestApp;
  let rx: Awaited<ReturnType<typeof receiver>>;

  beforeEach(async () => {
    rx = await receiver();
    t = await bootApp({ RATING_WEBHOOK_URL: rx.url, RATING_WEBHOOK_SECRET: SECRET });
  });
  afterEach(async () => {
    await t.close();
    await rx.down().catch(() => undefined);
  });

  async function ratedToken(ticketId: string) {
    const res = await t.postWebhook(ticketPayload({ ticket_id: ticketId, agent: { id: 'a-7', name: 'Ada' }, team: 'billing' }));
    await t.services.worker.drain();
    return { surveyId: res.body.survey_id as string, token: await t.services.surveys.issueToken(res.body.survey_id) };
  }

  it('when the receiver is down and then failing for a while, then once it is up it gets every event once, in order per survey, signed', async () => {
    const a = await ratedToken('T-h1');
    const b = await ratedToken('T-h2');
    // Receiver down: connection refused.
    await t.services.ratings.recordRating(a.token, { score: 2 });
    await t.services.ratings.recordRating(b.token, { score: 5 });
    await t.services.ratings.recordRating(a.token, { score: 4 });
    await t.services.hooks.drain();
    await t.db('hook_outbox').update({ due_at: new Date(0) });
    // Receiver up but answering 503.
    await rx.up();
    rx.state.failWith = 503;
    await t.services.ratings.recordRating(a.token, { comment: 'thanks' });
    await t.services.hooks.drain();
    expect(rx.received).toEqual([]);
    const pending = await t.db('hook_outbox').where({ status: 'pending' }).select('attempts', 'last_error');
    expect(pending.length).toBe(4);
    expect(pending.some((p) => p.last_error === 'HTTP 503')).toBe(true);

    rx.state.failWith = 0;
    t.services.hooks.start();
    await waitFor(async () => (await t.db('hook_outbox').where({ status: 'pending' }).count<{ n: number }[]>({ n: '*' }))[0].n === 0, 20_000);

    expect(rx.received.every((r) => r.signatureOk)).toBe(true);
    const of = (id: string) => rx.received.map((r) => r.body).filter((e) => e.survey_id === id);
    expect(of(a.surveyId).map((e) => [e.event, e.score, e.comment])).toEqual([
      ['rating.created', 2, null],
      ['rating.updated', 4, null],
      ['rating.updated', 4, 'thanks'],
    ]);
    expect(of(b.surveyId)).toEqual([
      {
        event: 'rating.created',
        survey_id: b.surveyId,
        ticket_id: 'T-h2',
        agent: { id: 'a-7', name: 'Ada' },
        team: 'billing',
        score: 5,
        comment: null,
        question_id: 'handling',
        variant: null,
        rated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      },
    ]);
    expect(rx.received).toHaveLength(4);
  }, 30_000);

  it('when a rating answers with no change, then no event is queued', async () => {
    const a = await ratedToken('T-h3');
    await t.services.ratings.recordRating(a.token, { score: 3 });
    await t.services.ratings.recordRating(a.token, { score: 3 });
    expect(await t.count('hook_outbox')).toBe(1);
  });

  it('when the rating write fails, then no event is queued (same transaction)', async () => {
    const a = await ratedToken('T-h4');
    await refuseWrites(t.db, 'rating_events', 'refused', ['INSERT']);
    await expect(t.services.ratings.recordRating(a.token, { score: 3 })).rejects.toThrow(/refused/);
    expect(await t.count('hook_outbox')).toBe(0);
  });
});

describe('rating webhook configuration', () => {
  it('when RATING_WEBHOOK_URL is set without a secret, then start-up stops naming RATING_WEBHOOK_SECRET', async () => {
    await expect(bootApp({ RATING_WEBHOOK_URL: 'https://hooks.example/x' })).rejects.toThrow(/RATING_WEBHOOK_SECRET: is required/);
  });
});
