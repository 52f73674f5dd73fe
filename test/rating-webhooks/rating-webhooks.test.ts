import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signBody } from '../../src/shared/signature';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { refuseWrites } from '../helpers/database';
import { waitFor } from '../helpers/wait';

const SECRET = 'rating-hook-secret-0123456789';

/**
 * A receiver on its own loopback port that can be down (it resets every connection at once),
 * failing (503) or up. It keeps listening while down: a port let go could be taken by another
 * process before the receiver comes back.
 */
async function receiver() {
  const received: Array<{ body: Record<string, unknown>; signatureOk: boolean }> = [];
  const state = { failWith: 0, down: true };
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
  server.on('connection', (socket) => state.down && socket.resetAndDestroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/csat`,
    received,
    state,
    up: () => void (state.down = false),
    close: () => new Promise<void>((r) => server.close(() => r())),
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
    await rx.close();
  });

  async function ratedToken(ticketId: string) {
    const res = await t.postWebhook(ticketPayload({ ticket_id: ticketId, agent: { id: 'a-7', name: 'Ada' }, team: 'billing' }));
    await t.services.worker.drain();
    return { surveyId: res.body.survey_id as string, token: await t.services.surveys.issueToken(res.body.survey_id) };
  }

  it('when the receiver is down and then failing for a while, then once it is up it gets every event once, in order per survey, signed', async () => {
    const a = await ratedToken('T-h1');
    const b = await ratedToken('T-h2');
    // Receiver down: the connection is reset.
    await t.services.ratings.recordRating(a.token, { score: 2 });
    await t.services.ratings.recordRating(b.token, { score: 5 });
    await t.services.ratings.recordRating(a.token, { score: 4 });
    await t.services.hooks.drain();
    await t.db('hook_outbox').update({ due_at: new Date(0) });
    // Receiver up but answering 503.
    rx.up();
    rx.state.failWith = 503;
    await t.services.ratings.recordRating(a.token, { comment: 'thanks' });
    await t.services.hooks.drain();
    expect(rx.received).toEqual([]);
    const pending = await t.db('hook_outbox').where({ status: 'pending' }).select('attempts', 'last_error');
    expect(pending.length).toBe(6); // a's 2 opened a follow-up, and its 4 recovered it: two follow-up events
    expect(pending.some((p) => p.last_error === 'HTTP 503')).toBe(true);

    rx.state.failWith = 0;
    t.services.hooks.start();
    await waitFor(async () => (await t.db('hook_outbox').where({ status: 'pending' }).count<{ n: number }[]>({ n: '*' }))[0].n === 0);

    expect(rx.received.every((r) => r.signatureOk)).toBe(true);
    const of = (id: string) => rx.received.map((r) => r.body).filter((e) => e.survey_id === id);
    expect(of(a.surveyId).map((e) => [e.event, e.score ?? null, e.comment ?? null])).toEqual([
      ['rating.created', 2, null],
      ['followup.opened', null, null],
      ['rating.updated', 4, null],
      ['followup.recovered', null, null],
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
    expect(rx.received).toHaveLength(6);
  });

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
