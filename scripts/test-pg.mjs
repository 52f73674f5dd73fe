#!/usr/bin/env node
// `npm run test:pg`: the whole jest suite against PostgreSQL. Creates a fresh database on the server
// in TEST_DATABASE_URL (default: this project's machines' local server), runs jest with every test
// in a schema of its own in it, and drops the database afterwards (also on Ctrl-C), so runs never
// see each other's data. Arguments are passed to jest.
import { spawn } from 'node:child_process';
import pg from 'pg';

const base = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const name = `closeloop_test_${Date.now()}_${process.pid}`;
const admin = async (sql) => {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

const url = new URL(base);
url.pathname = `/${name}`;
await admin(`CREATE DATABASE ${name}`);
process.stdout.write(`test:pg: database ${name} on ${url.host}\n`);
const jest = spawn('npx', ['jest', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, CLOSELOOP_TEST_PG: url.toString() } });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => jest.kill(signal));
const status = await new Promise((resolve) => jest.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
process.exit(status);
