/**
 * The ingest ceiling, run as its own process: a bare express 5 route that reads the same JSON
 * body the same way (express.raw, JSON.parse) and does one INSERT into a SQLite table through
 * sqlite3, with the service's connection settings (WAL, synchronous=FULL, one connection). No
 * signature, no validation, no eligibility, no counters, no outbox: what is left is what express
 * and one durable SQLite write cost on this machine. Sends {type:'ready', port} when listening.
 */
import sqlite3 from 'sqlite3';
import { serveCeiling } from './ceiling-route';

const file = process.env.CEILING_DB;
if (!file) throw new Error('CEILING_DB is not set');
const db = new sqlite3.Database(file);

const exec = (sql: string) => new Promise<void>((ok, fail) => db.exec(sql, (err) => (err ? fail(err) : ok())));
const insert = (ticketId: string, body: string) =>
  new Promise<number>((ok, fail) =>
    db.run('INSERT INTO tickets (ticket_id, body, created_at) VALUES (?, ?, ?)', [ticketId, body, Date.now()], function (this: sqlite3.RunResult, err) {
      if (err) fail(err);
      else ok(this.lastID);
    }),
  );

exec(
  'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;' +
    'CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at INTEGER NOT NULL)',
)
  .then(() => serveCeiling(insert, () => new Promise<void>((ok) => db.close(() => ok()))))
  .catch((err) => {
    process.stderr.write(`ingest ceiling failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
