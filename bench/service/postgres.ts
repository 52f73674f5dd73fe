import os from 'node:os';
import pg from 'pg';
import { createDb } from '../../src/shared/db';
import { SECRETS } from './closeloop';
import type { Store } from './stores';

/** The service's pool (DB_POOL_MAX's default), and so the ceiling's. */
const POOL_MAX = 10;

export type PgRun = {
  /** For the log: where the run's data lives. */
  describe: string;
  /** A store of its own (a schema) for one setup; `name` is a plain word. */
  store: (name: string) => Store;
  /** Drops what the run made; a second call waits for the first. */
  drop: () => Promise<void>;
};

const LOCAL_HOSTS = ['', 'localhost', '127.0.0.1', '[::1]'];

async function admin(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL for one bench run (BENCH_DATABASE_URL): a database made for the run from that URL,
 * a schema in it for each setup and one for its ceiling, dropped at the end (also on Ctrl-C). A role
 * that may not create databases gets the run's own schemas in the URL's database instead.
 * When the server runs on this machine, its processes working for the run (the run database's
 * backends, the WAL writer, checkpointer and background writer) are watched for their CPU.
 */
export async function startPgRun(given: string): Promise<PgRun> {
  const name = `closeloop_bench_${Date.now()}_${process.pid}`;
  const url = new URL(given);
  // As psql does, no user in the URL means this machine's user (the services get no USER variable).
  url.username ||= os.userInfo().username;
  const baseUrl = url.toString();
  let ownDatabase = false;
  try {
    await admin(baseUrl, `CREATE DATABASE ${name}`);
    [url.pathname, ownDatabase] = [`/${name}`, true];
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err; // insufficient_privilege: no CREATEDB
  }
  const [runUrl, prefix] = [url.toString(), ownDatabase ? '' : `${name}_`];
  const schemas = new Set<string>();
  const schema = (s: string) => (schemas.add(`${prefix}${s}`), `${prefix}${s}`);
  const watcher = LOCAL_HOSTS.includes(url.hostname) ? new pg.Client({ connectionString: runUrl }) : undefined;
  await watcher?.connect();
  const server = watcher && {
    name: 'postgres',
    pids: async () =>
      (
        await watcher.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))",
        )
      ).rows.map((r) => r.pid),
  };

  let dropped: Promise<void> | undefined;
  return {
    describe: `PostgreSQL ${ownDatabase ? `database ${name}` : `schemas ${prefix}* in ${url.pathname.slice(1)} (no CREATEDB)`} on ${url.host}${watcher ? '' : ' (not this machine: its CPU is not watched)'}`,
    store: (s) => ({
      // /metrics on: the bench reads group commit's batch sizes, and which instance sent what.
      env: { DATABASE_URL: runUrl, DATABASE_SCHEMA: schema(s), METRICS_TOKEN: SECRETS.metrics },
      open: () => createDb({ client: 'pg', url: runUrl, schema: schema(s), poolMax: 1, acquireTimeoutMs: 10_000, statementTimeoutMs: 0 }),
      ceiling: {
        script: 'ceiling-ingest-pg.js',
        env: { CEILING_PG_URL: runUrl, CEILING_PG_SCHEMA: schema(`${s}_ceiling`), CEILING_PG_POOL: String(POOL_MAX) },
        describe: `bare express 5 + one INSERT through a pg pool of ${POOL_MAX}`,
      },
      server,
      dispose: async () => {
        for (const name of [schema(s), schema(`${s}_ceiling`)]) await admin(runUrl, `DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      },
    }),
    drop: () =>
      (dropped ??= (async () => {
        await watcher?.end().catch(() => {});
        if (ownDatabase) await admin(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        else for (const s of schemas) await admin(baseUrl, `DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      })()),
  };
}
