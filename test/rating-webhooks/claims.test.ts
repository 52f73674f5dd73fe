import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bootApp, manualClock, ticketPayload, type TestApp } from '../helpers/boot';
import { createHookWorker } from '../../src/rating-webhooks/worker';
import { createLogger } from '../../src/shared/logger';

const SECRET = 'rating-hook-secret-0123456789';

/** A receiver that answers 204, except that `hold()` keeps the next request waiting until the test answers it. */
async function holdingReceiver() {
  const delivered: string[] = [];
  const holds: Array<{ reach: () => void; answered: Promise<number> }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const reply = (status: number) => {
        if (status < 300) delivered.push(raw);
        res.writeHead(status).end();
      };
      const held = holds.shift();
      if (!held) return reply(204);
      held.reach();
      void held.answered.then(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/csat`,
    delivered,
    hold() {
      let reach!: () => void;
      let answer!: (status: number) => void;
      const reached = new Promise<void>((resolve) => (reach = resolve));
      holds.push({ reach, answered: new Promise((resolve) => (answer = resolve)) });
      return { reached, answer };
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('rating webhook claims: every transition holds the claim it was made under', () => {
  const clock = manualClock(new Date('2026-11-20T10:00:00Z'));
  let rx: Awaited<ReturnType<typeof holdingReceiver>>;
  let t: TestApp;
  let other: ReturnType<typeof createHookWorker>;

  beforeEach(async () => {
    clock.set(new Date('2026-11-20T10:00:00Z'));
    rx = await holdingReceiver();
    t = await bootApp({ RATING_WEBHOOK_URL: rx.url, RATING_WEBHOOK_SECRET: SECRET, DELIVERY_LEASE_SECONDS: '60' }, clock);
    // A second instance's worker on the same database.
    other = createHookWorker({ ...t.services, logger: createLogger('silent'), secret: SECRET, options: t.config.delivery });
  });
  afterEach(async () => {
    await t.close();
    await rx.close();
  });

  const hookRow = () => t.db('hook_outbox').first('status', 'attempts', 'locked_until', 'last_error');
  const lostClaims = async () =>
    (await t.services.metrics.lostClaims.get()).values.filter((v) => v.value > 0).map((v) => ({ ...v.labels, n: v.value }));

  it.each([
    [503, 'retry'],
    [204, 'sent'],
  ] as const)(
    'when a POST outlives its lease and another worker claims and delivers the event, then the late answer (%s) changes nothing and no worker claims it again',
    async (late, transition) => {
      const res = await t.postWebhook(ticketPayload());
      await t.services.worker.drain();
      await t.services.ratings.recordRating(await t.services.surveys.issueToken(res.body.survey_id), { score: 4 });
      expect(await hookRow()).toMatchObject({ status: 'pending', attempts: 0 });

      const held = rx.hold();
      const first = t.services.hooks.drain();
      await held.reached;
      clock.advance(61_000); // the lease (60 s) ran out while the receiver was slow
      expect(await other.drain()).toBe(1);
      expect(await hookRow()).toMatchObject({ status: 'sent', attempts: 2 });

      held.answer(late);
      expect(await first).toBe(1);
      expect(await hookRow()).toEqual({ status: 'sent', attempts: 2, locked_until: null, last_error: null });
      expect(await lostClaims()).toEqual([{ outbox: 'hook', transition, n: 1 }]);
      expect(rx.delivered).toHaveLength(late === 204 ? 2 : 1);

      clock.advance(24 * 3600_000);
      expect(await t.services.hooks.drain()).toBe(0);
      expect(await other.drain()).toBe(0);
      expect((await hookRow()).attempts).toBe(2);
    },
  );
});
