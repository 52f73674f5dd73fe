import request from 'supertest';
import { bootApp, manualClock, TEST_SECRET, type TestApp } from '../helpers/boot';
import { onPostgres, refuseWrites } from '../helpers/database';
import { signBody } from '../../src/shared/signature';
import { createDb } from '../../src/shared/db';
import { createLogger } from '../../src/shared/logger';
import { createServices } from '../../src/services';
import { createApp } from '../../src/app';
import { fixtureJson, HELPDESK_SECRETS, hmac } from '../helpers/helpdesks';

/**
 * Replays (README "Replays", docs/helpdesks.md): an authenticated request identical to one already
 * answered within 7 days gets the same answer and changes nothing; a request signed afresh, or a
 * real new event, is not a replay.
 */

const SECRETS = HELPDESK_SECRETS;
const DAY_MS = 86_400_000;

type Vendor = 'generic' | 'zendesk' | 'helpscout' | 'freshdesk' | 'intercom';
/** One request as it went over the wire: where, which bytes, which headers. Sending it again is a replay. */
type Captured = { url: string; raw: string; headers: Record<string, string> };

describe('replayed webhooks change nothing', () => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let invocation = 8_350_205_582;

  beforeEach(async () => {
    clock = manualClock(new Date('2026-11-20T12:00:00Z'));
    t = await bootApp({ ...SECRETS, SURVEY_DELAY_MINUTES: '30' }, clock);
  });
  afterEach(() => t.close());

  const unixNow = () => String(Math.floor(clock.now().getTime() / 1000));

  /** Signs `body` for `vendor` as that helpdesk would, now. */
  function sign(vendor: Vendor, body: unknown, kind: 'close' | 'reopen' = 'close'): Captured {
    const raw = JSON.stringify(body);
    const json = { 'Content-Type': 'application/json' };
    switch (vendor) {
      case 'generic': {
        const ts = unixNow();
        const url = kind === 'close' ? '/webhooks/ticket-closed' : '/webhooks/ticket-reopened';
        return { url, raw, headers: { ...json, 'X-Closeloop-Timestamp': ts, 'X-Closeloop-Signature': signBody(TEST_SECRET, ts, raw) } };
      }
      case 'zendesk': {
        const ts = clock.now().toISOString().replace(/\.\d+Z$/, 'Z');
        const signature = hmac('sha256', SECRETS.ZENDESK_WEBHOOK_SECRET, ts + raw, 'base64');
        invocation += 1;
        const headers = { ...json, 'X-Zendesk-Webhook-Signature': signature, 'X-Zendesk-Webhook-Signature-Timestamp': ts, 'X-Zendesk-Webhook-Invocation-Id': String(invocation) };
        return { url: '/webhooks/zendesk', raw, headers };
      }
      case 'helpscout':
        return { url: '/webhooks/helpscout', raw, headers: { ...json, 'X-HelpScout-Event': 'convo.status', 'X-HelpScout-Signature': hmac('sha1', SECRETS.HELPSCOUT_WEBHOOK_SECRET, raw, 'base64') } };
      case 'freshdesk':
        return { url: '/webhooks/freshdesk', raw, headers: { ...json, 'X-Closeloop-Token': SECRETS.FRESHDESK_WEBHOOK_TOKEN } };
      case 'intercom':
        return { url: '/webhooks/intercom', raw, headers: { ...json, 'X-Hub-Signature': `sha1=${hmac('sha1', SECRETS.INTERCOM_CLIENT_SECRET, raw, 'hex')}` } };
    }
  }

  const send = (c: Captured, app = t.app) => {
    const req = request(app).post(c.url);
    for (const [name, value] of Object.entries(c.headers)) req.set(name, value);
    return req.send(c.raw);
  };

  let notification = 0;
  /** A close, a reopen and a second (real) close of one ticket, in each helpdesk's own shape. */
  const events: Record<Vendor, { close: () => unknown; reopen: () => unknown; closeAgain: () => unknown }> = {
    generic: {
      close: () => ({ ticket_id: 'T-1', customer: { email: 'ann@example.com' }, agent: { id: 'a-7' } }),
      reopen: () => ({ ticket_id: 'T-1' }),
      closeAgain: () => ({ ticket_id: 'T-1', customer: { email: 'ann@example.com' }, agent: { id: 'a-9' } }),
    },
    zendesk: {
      close: () => fixtureJson('zendesk/solved.json'),
      reopen: () => fixtureJson('zendesk/reopened.json'),
      closeAgain: () => ({ ...fixtureJson('zendesk/solved.json'), closed_at: '2026-11-20T12:05Z' }),
    },
    helpscout: {
      close: () => fixtureJson('helpscout/convo-status-closed.json'),
      reopen: () => ({ ...fixtureJson('helpscout/convo-status-closed.json'), status: 'active', userUpdatedAt: '2026-11-20T12:01:00Z' }),
      closeAgain: () => ({ ...fixtureJson('helpscout/convo-status-closed.json'), closedAt: '2026-11-20T12:05:00Z', userUpdatedAt: '2026-11-20T12:05:00Z' }),
    },
    freshdesk: {
      close: () => fixtureJson('freshdesk/resolved.json'),
      reopen: () => fixtureJson('freshdesk/reopened.json'),
      // Freshdesk's body carries no time: a second close is told apart only by what changed in it (docs/helpdesks.md).
      closeAgain: () => ({ ...fixtureJson('freshdesk/resolved.json'), tags: 'vip,refund,reopened' }),
    },
    intercom: {
      close: () => ({ ...fixtureJson('intercom/conversation-admin-closed.json'), id: `notif_close_${++notification}` }),
      reopen: () => ({ ...fixtureJson('intercom/conversation-admin-closed.json'), id: `notif_open_${++notification}`, topic: 'conversation.admin.opened' }),
      closeAgain: () => ({ ...fixtureJson('intercom/conversation-admin-closed.json'), id: `notif_close_${++notification}` }),
    },
  };
  // Vendors whose signature covers a timestamp refuse a replay after 5 minutes anyway; the others are replayed days
  // later, but Freshdesk's receipts count only through its retry span (receipts.ts FRESHDESK_RECEIPT_MS).
  const replayAfter: Record<Vendor, number> = { generic: 60_000, zendesk: 60_000, helpscout: 3 * DAY_MS, freshdesk: 95 * 60_000, intercom: 3 * DAY_MS };
  const vendors = Object.keys(events) as Vendor[];

  /** Lets SURVEY_DELAY_MINUTES pass and sends what is due; answers how many emails went out. */
  async function sendDue(): Promise<number> {
    clock.advance(31 * 60_000);
    return t.services.worker.drain();
  }

  it.each(vendors)('when a %s close is replayed after the ticket was reopened, then the first answer again, no second survey and no email; a real second close still gets one', async (vendor) => {
    const close = sign(vendor, events[vendor].close());
    const first = await send(close);
    expect([first.status, first.body.status]).toEqual([202, 'scheduled']);
    const reopened = await send(sign(vendor, events[vendor].reopen(), 'reopen'));
    expect(reopened.body).toEqual({ survey_id: first.body.survey_id, status: 'cancelled' });

    clock.advance(replayAfter[vendor]);
    const replayed = await send(close);
    expect([replayed.status, replayed.body]).toEqual([first.status, first.body]);
    expect(await t.db('surveys').select('id', 'status')).toEqual([{ id: first.body.survey_id, status: 'cancelled' }]);
    expect(await sendDue()).toBe(0);

    // Positive control: the ticket really closing again is a new request, and it is surveyed.
    const again = await send(sign(vendor, events[vendor].closeAgain()));
    expect([again.status, again.body.status]).toEqual([202, 'scheduled']);
    expect(again.body.survey_id).not.toBe(first.body.survey_id);
    expect(await sendDue()).toBe(1);
  });

  it('when an unchanged Freshdesk ticket is resolved again after Freshdesk\'s retry span, then it is a new close and surveyed', async () => {
    const close = sign('freshdesk', events.freshdesk.close());
    const first = await send(close);
    expect(first.body.status).toBe('scheduled');
    await send(sign('freshdesk', events.freshdesk.reopen(), 'reopen'));
    clock.advance(90 * 60_000);
    expect((await send(close)).body).toEqual(first.body); // inside the span: a retry, answered alike
    clock.advance(31 * 60_000);
    const again = await send(close); // the same body, 2 hours on: Freshdesk no longer retries, so it is the ticket resolved again
    expect([again.status, again.body.status]).toEqual([202, 'scheduled']);
    expect(again.body.survey_id).not.toBe(first.body.survey_id);
  });

  it.each(vendors)('when a captured %s reopen is replayed after the ticket closed again, then the first answer again and the new survey is not cancelled', async (vendor) => {
    const first = await send(sign(vendor, events[vendor].close()));
    const reopen = sign(vendor, events[vendor].reopen(), 'reopen');
    const cancelled = await send(reopen);
    expect(cancelled.body).toEqual({ survey_id: first.body.survey_id, status: 'cancelled' });
    clock.advance(1000);
    const second = await send(sign(vendor, events[vendor].closeAgain()));
    expect([second.status, second.body.status]).toEqual([202, 'scheduled']);

    clock.advance(replayAfter[vendor]); // the worker is not running: the second survey's email is still pending, a reopen could cancel it
    const replayed = await send(reopen);
    expect([replayed.status, replayed.body]).toEqual([200, cancelled.body]);
    expect(await t.db('surveys').where({ id: second.body.survey_id }).first('status')).toEqual({ status: 'scheduled' });
    expect(await t.db('outbox').where({ survey_id: second.body.survey_id }).first('status')).toEqual({ status: 'pending' });
  });

  it('when identical requests arrive at once, then each gets the same answer, one survey, one receipt; the same for a reopen', async () => {
    const close = sign('generic', events.generic.close());
    const closes = await Promise.all(Array.from({ length: 12 }, () => send(close)));
    const surveyId = closes[0].body.survey_id;
    for (const r of closes) expect([r.status, r.body]).toEqual([202, { survey_id: surveyId, status: 'scheduled' }]);

    const reopen = sign('helpscout', events.helpscout.reopen(), 'reopen');
    await send(sign('helpscout', events.helpscout.close()));
    const reopens = await Promise.all(Array.from({ length: 12 }, () => send(reopen)));
    for (const r of reopens) expect([r.status, r.body]).toEqual([200, reopens[0].body]);
    expect(reopens[0].body.status).toBe('cancelled');

    expect(await t.count('surveys')).toBe(2);
    expect(await t.count('webhook_receipts')).toBe(3);
  });

  // Several instances on one database is a PostgreSQL set-up (SQLite has one writer and one process).
  (onPostgres ? it : it.skip)('when identical requests reach two instances at once, then every answer is the same, with one survey and one receipt each', async () => {
    const db = createDb(t.config.database);
    const other = createApp(createServices({ config: t.config, db, clock, logger: createLogger('silent') }));
    try {
      const close = sign('generic', events.generic.close());
      const closes = await Promise.all(Array.from({ length: 16 }, (_, i) => send(close, i % 2 ? other : t.app)));
      for (const r of closes) expect([r.status, r.body]).toEqual([202, closes[0].body]);

      const reopen = sign('generic', events.generic.reopen(), 'reopen');
      const reopens = await Promise.all(Array.from({ length: 16 }, (_, i) => send(reopen, i % 2 ? other : t.app)));
      for (const r of reopens) expect([r.status, r.body]).toEqual([200, { survey_id: closes[0].body.survey_id, status: 'cancelled' }]);

      // Redeliveries of one Intercom notification: bodies differ, the notification id is the same.
      const body = events.intercom.close() as Record<string, unknown>;
      const deliveries = await Promise.all(Array.from({ length: 16 }, (_, i) => send(sign('intercom', { ...body, delivery_attempts: 1 + (i % 4) }), i % 2 ? other : t.app)));
      for (const r of deliveries) expect([r.status, r.body]).toEqual([202, deliveries[0].body]);

      expect(await t.db('surveys').orderBy('source').select('source', 'status')).toEqual([
        { source: 'generic', status: 'cancelled' },
        { source: 'intercom', status: 'scheduled' },
      ]);
      expect(await t.count('webhook_receipts')).toBe(3);
    } finally {
      await db.destroy();
    }
  });

  it('when Zendesk retries an invocation signed afresh, then it is the same event; the same signed bytes under another invocation id are too', async () => {
    const close = sign('zendesk', events.zendesk.close());
    const first = await send(close);
    clock.advance(10_000);
    const retry = sign('zendesk', events.zendesk.close()); // same body, a new timestamp and signature
    retry.headers['X-Zendesk-Webhook-Invocation-Id'] = close.headers['X-Zendesk-Webhook-Invocation-Id'];
    expect([(await send(retry)).body, (await send({ ...close, headers: { ...close.headers, 'X-Zendesk-Webhook-Invocation-Id': '1' } })).body]).toEqual([first.body, first.body]);

    // The invocation id is outside the signature: it names an event only together with the same body.
    const other = sign('zendesk', events.zendesk.closeAgain());
    other.headers['X-Zendesk-Webhook-Invocation-Id'] = close.headers['X-Zendesk-Webhook-Invocation-Id'];
    expect((await send(other)).body).toEqual({ survey_id: first.body.survey_id, status: 'duplicate' });
    expect(await t.count('webhook_receipts')).toBe(2);
  });

  it('when Intercom redelivers a notification (same id, delivery_attempts counted up), then it is the same event', async () => {
    const body = events.intercom.close() as Record<string, unknown>;
    const first = await send(sign('intercom', body));
    const redelivery = await send(sign('intercom', { ...body, delivery_attempts: 2, first_sent_at: 1795175890 }));
    expect([redelivery.status, redelivery.body]).toEqual([202, first.body]);
    expect(await t.count('webhook_receipts')).toBe(1);
  });

  it('when a request was ignored, then it keeps that answer even if its unsigned event header is changed (Help Scout)', async () => {
    const captured = sign('helpscout', events.helpscout.close());
    const tags = await send({ ...captured, headers: { ...captured.headers, 'X-HelpScout-Event': 'convo.tags' } });
    expect(tags.body).toEqual({ status: 'ignored', reason: 'event convo.tags is not a status change' });
    const swapped = await send(captured);
    expect([swapped.status, swapped.body]).toEqual([200, tags.body]);
    expect(await t.count('surveys')).toBe(0);

    // Positive control: Intercom's ping is ignored and answered again the same way.
    const ping = sign('intercom', { type: 'notification_event', id: 'notif_ping_1', topic: 'ping', data: { item: { type: 'ping' } } });
    expect((await send(ping)).body.status).toBe('ignored');
    expect((await send(ping)).body.status).toBe('ignored');
    expect(await t.count('webhook_receipts')).toBe(2);
  });

  it('when a signed generic close is sent to the reopen endpoint, then it is the same request: answered as the close, nothing cancelled', async () => {
    const close = sign('generic', events.generic.close());
    const first = await send(close);
    const crossed = await send({ ...close, url: '/webhooks/ticket-reopened' });
    expect([crossed.status, crossed.body]).toEqual([202, first.body]);
    expect(await t.db('surveys').first('status')).toEqual({ status: 'scheduled' });
  });

  it('when a request is refused (401, 400) or fails, then no receipt is kept, and the same request later lands', async () => {
    const close = sign('helpscout', events.helpscout.close());
    expect((await send({ ...close, headers: { ...close.headers, 'X-HelpScout-Signature': 'forged' } })).status).toBe(401);
    const bad = sign('helpscout', { ...(events.helpscout.close() as object), primaryCustomer: {} });
    expect((await send(bad)).status).toBe(400);
    expect(await t.count('webhook_receipts')).toBe(0);

    // The receipt is written in the survey's transaction: when it cannot be, the survey is not stored either.
    const repair = await refuseWrites(t.db, 'webhook_receipts', 'receipts broken', ['INSERT']);
    const failed = await send(close);
    expect(failed.status).toBe(500);
    expect([await t.count('surveys'), await t.count('outbox'), await t.count('webhook_receipts')]).toEqual([0, 0, 0]);
    await repair();
    const retried = await send(close);
    expect([retried.status, retried.body.status]).toEqual([202, 'scheduled']);
    expect([await t.count('surveys'), await t.count('outbox'), await t.count('webhook_receipts')]).toEqual([1, 1, 1]);
  });

  it('when a reopen cannot store its receipt, then the survey is not cancelled either', async () => {
    const first = await send(sign('freshdesk', events.freshdesk.close()));
    const repair = await refuseWrites(t.db, 'webhook_receipts', 'receipts broken', ['INSERT']);
    const reopen = sign('freshdesk', events.freshdesk.reopen(), 'reopen');
    expect((await send(reopen)).status).toBe(500);
    expect(await t.db('surveys').where({ id: first.body.survey_id }).first('status')).toEqual({ status: 'scheduled' });
    await repair();
    expect((await send(reopen)).body).toEqual({ survey_id: first.body.survey_id, status: 'cancelled' });
  });

  it('when 7 days have passed, then a receipt no longer counts (even before it is pruned) and pruning deletes it', async () => {
    const close = sign('helpscout', events.helpscout.close());
    const first = await send(close);
    clock.advance(6 * DAY_MS);
    expect(await t.services.surveys.pruneReceipts()).toBe(0);
    expect((await send(close)).body).toEqual(first.body); // day 6: a replay

    clock.advance(DAY_MS + 60_000);
    // Day 7 and a minute: a new request again. The ticket's survey exists, so it is a duplicate, and its receipt replaces the old one.
    const late = await send(close);
    expect([late.status, late.body]).toEqual([200, { survey_id: first.body.survey_id, status: 'duplicate' }]);
    expect(await t.count('webhook_receipts')).toBe(1);
    expect(await t.services.surveys.pruneReceipts()).toBe(0);

    clock.advance(7 * DAY_MS + 1);
    expect(await t.services.surveys.pruneReceipts()).toBe(1);
    expect(await t.count('webhook_receipts')).toBe(0);
    expect(await t.count('surveys')).toBe(1);
  });
});
