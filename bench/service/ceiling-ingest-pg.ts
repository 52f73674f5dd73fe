/**
 * The PostgreSQL twin of ceiling-ingest.ts, run as its own process: the same bare express 5
 * route, and one INSERT through a `pg` pool of CEILING_PG_POOL connections (the service's
 * DB_POOL_MAX default, 10) into a table in schema CEILING_PG_SCHEMA, committed with the server's
 * settings as the service's are (synchronous_commit on unless the server says otherwise). No
 * knex, no transaction around it, nothing else: what express and one durable PostgreSQL write
 * cost. Sends {type:'ready', port} when listening.
 */
import pg from 'pg';
import { serveCeiling } from './ceiling-route';

const { CEILING_PG_URL: url, CEILING_PG_SCHEMA: schema, CEILING_PG_POOL: poolMax } = process.env;
if (!url || !schema || !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('CEILING_PG_URL and CEILING_PG_SCHEMA (a plain name) must be set');
const pool = new pg.Pool({ connectionString: url, max: Number(poolMax ?? 10) });
const table = `"${schema}".tickets`;

const insert = async (ticketId: string, body: string) =>
  (await pool.query<{ id: string }>(`INSERT INTO ${table} (ticket_id, body, created_at) VALUES ($1, $2, $3) RETURNING id`, [ticketId, body, Date.now()])).rows[0].id;

pool
  .query(`CREATE SCHEMA IF NOT EXISTS "${schema}"; CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, ticket_id text NOT NULL UNIQUE, body text NOT NULL, created_at bigint NOT NULL)`)
  .then(() => serveCeiling(insert, () => pool.end()))
  .catch((err) => {
    process.stderr.write(`ingest ceiling (PostgreSQL) failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
