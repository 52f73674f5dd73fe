import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';
import { startFaultySmtp, type FaultySmtp } from './faulty-smtp';
import { freePort, LEASE_SECONDS, openDatabase, postWebhook, seededRandom, serviceEnv, sleep, startService, statuses, ticket, waitUntil, type Service } from './service-process';

const WEBHOOKS = 500;
const IN_FLIGHT = 16;
const KILLS_DURING_INGEST = 3;
const KILLS = KILLS_DURING_INGEST + 1; // and one while the backlog is being delivered
const CONCURRENCY = 5;

type Accepted = { status: number; surveyId: string; outcome: string };

/**
 * The service as a real process, SIGKILLed at random moments while webhooks and their deliveries
 * are in flight, and restarted on the same database each time. A helpdesk keeps sending; a request
 * that got no answer (the process died under it) is sent again, as helpdesks retry.
 */
describe('the service killed with SIGKILL under load', () => {
  let dir: string;
  let smtp: FaultySmtp;
  let database: Record<string, string>;
  let db: Knex | undefined;
  let service: Service | undefined;
  let ended = false; // the test is over (failed or timed out): its senders and killer stop, so jest can exit

  beforeEach(async () => {
    ended = false;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-faults-kill-'));
    smtp = await startFaultySmtp();
    database = freshDatabaseEnv(dir);
  });
  afterEach(async () => {
    ended = true;
    await service?.kill();
    await db?.destroy();
    await smtp.close();
    await dropDatabase(database);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when it is killed four times mid-traffic and restarted, then every accepted webhook has its survey, every ticket exactly one, every survey is delivered, and re-sends stay within the emails in flight at each kill', async () => {
    const seed = Number(process.env.FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`sigkill fault case: seed ${seed} (repeat with FAULTS_SEED=${seed})`);
    const random = seededRandom(seed);
    const env = serviceEnv(database, await freePort(), {
      SMTP_URL: smtp.url,
      DELIVERY_LEASE_SECONDS: String(LEASE_SECONDS),
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      DELIVERY_MAX_ATTEMPTS: '50',
    });
    service = await startService(env);
    db = openDatabase(database);

    const tickets = Array.from({ length: WEBHOOKS }, (_, n) => ticket(`KILL-${seed}-${n}`, n));
    const queue = [...tickets];
    const accepted = new Map<string, Accepted>();
    const unanswered = new Set<string>(); // got a connection error at least once
    const unexpected: string[] = [];

    // The helpdesk: IN_FLIGHT senders; while the service is down they wait for it to be back.
    let up: Promise<void> = Promise.resolve();
    async function sender() {
      while (accepted.size < WEBHOOKS && unexpected.length === 0 && !ended) {
        await up;
        const next = queue.shift();
        if (!next) {
          await sleep(10); // the last requests are in flight; one may come back for a re-send
          continue;
        }
        try {
          const a = await postWebhook(service!.url, next);
          if (a.status === 202 || a.status === 200) accepted.set(next.ticket_id, { status: a.status, surveyId: String(a.body.survey_id), outcome: String(a.body.status) });
          else if (a.status === 503) queue.push(next);
          else unexpected.push(`${next.ticket_id}: ${a.status} ${a.text}`);
        } catch {
          unanswered.add(next.ticket_id);
          queue.push(next);
          await sleep(5);
        }
      }
    }

    // readyAt: when the restarted process said it listens. A message the dying process finished sending can be stamped
    // late by this busy test process (the SMTP server runs in it), but never after its successor is up.
    const kills: Array<{ respawnedAt: number; readyAt: number; afterAccepted: number; sentBefore: number }> = [];
    async function killAndRestart() {
      let release!: () => void;
      up = new Promise((resolve) => (release = resolve));
      const afterAccepted = accepted.size;
      await service!.kill();
      const sentBefore = (await statuses(db!, 'surveys')).sent ?? 0;
      const kill = { respawnedAt: Date.now(), readyAt: Infinity, afterAccepted, sentBefore };
      kills.push(kill);
      service = await startService(env);
      kill.readyAt = Date.now();
      release();
    }

    // The killer: each kill at a random point of its own stretch of the traffic, so all land mid-traffic.
    async function killer() {
      const stretch = WEBHOOKS / (KILLS_DURING_INGEST + 1);
      for (let k = 0; k < KILLS_DURING_INGEST; k += 1) {
        const at = Math.floor(stretch * (k + 0.5) + random() * stretch);
        await waitUntil(service, () => accepted.size >= at || unexpected.length > 0 || ended, 300_000, () => `${at} accepted webhooks (have ${accepted.size})`);
        if (unexpected.length || ended) return;
        await sleep(Math.floor(random() * 40));
        await killAndRestart();
      }
    }

    await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, sender)]);
    expect(unexpected).toEqual([]);
    // Once more while the backlog is being delivered, where an email between "sent" and its mark is likeliest.
    await sleep(50 + Math.floor(random() * 450));
    await killAndRestart();
    expect(kills).toHaveLength(KILLS);

    // Let the last process deliver everything (rows leased at the last kill come back after LEASE_SECONDS).
    await waitUntil(
      service,
      async () => JSON.stringify(await statuses(db!, 'surveys')) === JSON.stringify({ sent: WEBHOOKS }),
      LEASE_SECONDS * 1000 + 300_000,
      async () => `${WEBHOOKS} surveys all sent; surveys now ${JSON.stringify(await statuses(db!, 'surveys'))}, outbox ${JSON.stringify(await statuses(db!, 'outbox'))}`,
    );

    // Every ticket answered 2xx has exactly its survey: none lost, none doubled.
    const rows: Array<{ id: string; ticket_id: string; status: string; message_id: string }> = await db('surveys').select('id', 'ticket_id', 'status', 'message_id');
    expect(rows).toHaveLength(WEBHOOKS);
    const byTicket = new Map(rows.map((r) => [r.ticket_id, r]));
    const lost = tickets.filter((tk) => byTicket.get(tk.ticket_id)?.id !== accepted.get(tk.ticket_id)?.surveyId);
    expect(lost.map((tk) => [tk.ticket_id, accepted.get(tk.ticket_id), byTicket.get(tk.ticket_id)?.id])).toEqual([]);
    expect(await statuses(db, 'outbox')).toEqual({ sent: WEBHOOKS });

    // At the SMTP server: every survey's Message-ID at least once; re-sends only for emails in flight at a kill.
    const counts = smtp.counts();
    expect(rows.filter((r) => !counts.has(r.message_id)).map((r) => r.ticket_id)).toEqual([]);
    const duplicates = smtp.duplicates();
    const extra = duplicates.reduce((sum, d) => sum + d.extra, 0);
    // Each re-sent email belongs to the kill after its first copy: that process sent it and died before marking
    // it. The first copy arrived before the next process was even spawned.
    const perKill = kills.map(() => 0);
    for (const d of duplicates) {
      const first = Math.min(...smtp.arrived.filter((m) => m.messageId === d.messageId).map((m) => m.at));
      const kill = kills.findIndex((k) => first < k.readyAt);
      expect([d.messageId, kill >= 0]).toEqual([d.messageId, true]); // a duplicate no kill explains would be a bug
      perKill[kill] += d.extra;
    }
    const resentOutcomes = [...unanswered].map((id) => accepted.get(id)!.outcome);
    console.log(
      `sigkill fault case (seed ${seed}): kills ${JSON.stringify(kills.map(({ afterAccepted, sentBefore }) => ({ afterAccepted, sentBefore })))}; ${unanswered.size} webhooks re-sent after a lost answer ` +
        `(${resentOutcomes.filter((o) => o === 'duplicate').length} had landed before the kill, ${resentOutcomes.filter((o) => o === 'scheduled').length} had not); ` +
        `${extra} emails re-sent after a kill (per kill ${JSON.stringify(perKill)}): ${JSON.stringify(duplicates)}`,
    );
    for (const n of perKill) expect(n).toBeLessThanOrEqual(CONCURRENCY);
    expect(smtp.arrived).toHaveLength(WEBHOOKS + extra);

    // The last process is still serving and stops cleanly.
    expect(await service.stop()).toBe(0);
  }, 900_000); // a safety net: about half a minute normally, many times that on a busy machine
});
