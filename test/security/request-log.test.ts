/**
 * Issue 16: "GET /R/<token>/3 writes the raw token into the request log" (routes match in any case;
 * the log mask did not). Every request line must carry the route's shape, never a token or an email.
 */
import { Writable } from 'node:stream';
import request from 'supertest';
import { createLogger } from '../../src/shared/logger';
import { loggablePath } from '../../src/shared/http';
import { bootApp, type TestApp } from '../helpers/boot';
import { surveyWithToken } from '../ratings/fixtures';

describe('request logs never carry a token or an email, in any case of any path', () => {
  let t: TestApp;
  const lines: string[] = [];

  beforeEach(async () => {
    lines.length = 0;
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    t = await bootApp({}, undefined, createLogger('info', sink));
  });
  afterEach(() => t.close());

  it('when rating, unsubscribe and erasure URLs are requested in odd cases and shapes, then the log shows route patterns only', async () => {
    const { token } = await surveyWithToken(t);
    const admin = `Bearer ${t.config.adminToken}`;
    const paths = [`/R/${token}/3`, `/r/${token}/3/`, `/R/${token}`, `/r/${token}/CHECK`, `/U/${token}`, `/u/${token}/`, `/r/${token}/9`, `/x/${token}`];
    for (const path of paths) await request(t.app).get(path);
    await request(t.app).delete('/API/customers/ann@example.com').set('Authorization', admin);
    await request(t.app).delete('/api/customers/ann%40example.com/').set('Authorization', admin);
    const requestLines = lines.filter((l) => l.includes('"msg":"request"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(paths.length + 2); // positive control: the lines were written
    const all = lines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toMatch(/ann@example\.com|ann%40example\.com/i);
    expect(requestLines.some((l) => l.includes('"path":"/r/:token/:score"'))).toBe(true);
  });

  it('when requests come in, then each request line holds only the fields built for it (it skips redaction, so nothing else may join it)', async () => {
    const { token } = await surveyWithToken(t);
    await request(t.app).get(`/r/${token}/3`).set('X-Request-Id', 'caller-id.1');
    await request(t.app).get('/nope?email=ann@example.com');
    const requestLines = lines.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requestLines.length).toBeGreaterThanOrEqual(2);
    for (const line of requestLines) expect(Object.keys(line).sort()).toEqual(['level', 'method', 'ms', 'msg', 'path', 'reqId', 'service', 'status', 'time']);
    expect(requestLines.some((l) => l.reqId === 'caller-id.1')).toBe(true);
  });

  it('when a path matched no route, then every segment that could be a token or an email is masked', () => {
    expect(loggablePath('/R/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/3')).toBe('/R/:token/3');
    expect(loggablePath('/nope/a@b.c/x')).toBe('/nope/:redacted/x');
    expect(loggablePath('/healthz')).toBe('/healthz');
    expect(loggablePath('/anything', '/r/:token')).toBe('/r/:token');
  });
});
