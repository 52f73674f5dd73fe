import request from 'supertest';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';
import { onPostgres, PG_URL } from '../helpers/database';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

const describePg = onPostgres ? describe : describe.skip;

/**
 * PostgreSQL lane: the instance reaches the server through a proxy the test cuts and restores,
 * as a network loss or a database restart would look. (The SQLite lane's storage faults are in
 * test/webhooks/storage.test.ts and test/reports/http.test.ts.)
 */
describePg('an instance whose PostgreSQL goes away and comes back', () => {
  let t: TestApp;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;

  beforeEach(async () => {
    const server = new URL(PG_URL!);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(PG_URL!);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    // How long a request waits for a connection before it answers 503. Short keeps the outage brief, but a busy
    // machine can take a second to open a connection even when the server is there: a webhook before the outage
    // then got 503, or the worker could not mark a sent email (and waited out its lease).
    t = await bootApp({ DATABASE_URL: viaProxy.toString(), DB_ACQUIRE_TIMEOUT_MS: '5000' });
  });
  afterEach(async () => {
    await proxy.restore().catch(() => undefined); // close() needs the server reachable to drop the schema
    await t.close();
    await proxy.close();
  });

  const report = () => request(t.app).get('/reports/agents?from=2026-11-01&to=2026-11-30').set('Authorization', `Bearer ${t.config.reportsToken}`);
  const surveys = async () => Number((await t.db('surveys').count({ n: '*' }).first())?.n);

  it('when the server is unreachable, then webhooks and reports answer 503, nothing is stored, the worker keeps running, and all works again once it returns', async () => {
    t.services.worker.start();
    expect((await t.postWebhook(ticketPayload())).status).toBe(202);
    await waitFor(async () => (await t.db('surveys').where({ status: 'sent' }).count({ n: '*' }).first())?.n === 1);

    await proxy.cut();
    const during = ticketPayload({ ticket_id: 'T-during-outage' });
    const refused = await t.postWebhook(during);
    expect([refused.status, refused.body]).toEqual([503, { error: 'unavailable' }]);
    expect(refused.headers['retry-after']).toBeDefined();
    const reportDuring = await report();
    expect([reportDuring.status, reportDuring.body]).toEqual([503, { error: 'unavailable' }]);
    // The worker runs into the outage: instead of a fixed sleep, one whole pass, awaited, fails (nothing can be claimed).
    // The started worker carries on regardless: below it sends the survey that comes in once the server is back.
    await expect(t.services.worker.drain()).rejects.toThrow();

    await proxy.restore();
    // The pool drops the dead connections and opens new ones: no restart needed.
    let again = await t.postWebhook(during);
    for (let i = 0; i < 50 && again.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100)); // pacing: a helpdesk's re-sends come at intervals, not in a tight loop
      again = await t.postWebhook(during);
    }
    expect([again.status, again.body.status]).toEqual([202, 'scheduled']); // the refused request stored nothing: not a duplicate
    expect(await surveys()).toBe(2);
    await waitFor(async () => (await t.db('surveys').where({ status: 'sent' }).count({ n: '*' }).first())?.n === 2);
    const after = await report();
    expect([after.status, after.body.overall.surveys_sent]).toEqual([200, 2]);
  });

  it('when every connection is dropped mid-session, then the next requests succeed on fresh connections', async () => {
    expect((await t.postWebhook(ticketPayload())).status).toBe(202);
    await proxy.cut();
    await proxy.restore();
    let res = await t.postWebhook(ticketPayload());
    for (let i = 0; i < 20 && res.status === 503; i++) res = await t.postWebhook(ticketPayload());
    expect(res.status).toBe(202);
    expect((await report()).status).toBe(200);
  });
});
