import { spawn } from 'node:child_process';
import path from 'node:path';

// The compiled logger (npm test builds it first), in a process of its own: what reaches its standard output.
const LOGGER = path.join(__dirname, '../../dist/src/shared/logger.js');
const PRELUDE = `const { createLogger, batchedStdout } = require(${JSON.stringify(LOGGER)});`;

/** Runs `script` (with `createLogger` and `batchedStdout` in scope) and answers its output once the pipe is closed. */
function run(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(process.execPath, ['-e', `${PRELUDE}\n${script}`], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) })));
}

describe('the service log on standard output (batchedStdout)', () => {
  it('when many lines are logged at once and the process exits right after, then every line arrives, whole and in order', async () => {
    const { code, lines } = await run(`
      const logger = createLogger('info', batchedStdout());
      for (let i = 0; i < 5000; i++) logger.info({ i }, 'request');
      process.exit(3);
    `);
    expect(code).toBe(3);
    expect(lines).toHaveLength(5000);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('when the process dies of an uncaught error, then the lines logged before it still arrive', async () => {
    const { code, lines } = await run(`
      const logger = createLogger('info', batchedStdout());
      logger.info('before');
      logger.fatal({ reason: 'test' }, 'about to fail');
      setImmediate(() => { throw new Error('boom'); });
    `);
    expect(code).toBe(1);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before', 'about to fail']);
  });

  // The thread pool busy (a DNS lookup, a file, a SQLite statement) when the process dies: a log written
  // through it (pino's asynchronous destination) lost or reordered the line whose write was waiting there.
  it('when the thread pool is busy as the process dies, then every line logged still arrives, in order', async () => {
    const { code, lines } = await run(`
      const logger = createLogger('info', batchedStdout());
      require('node:crypto').pbkdf2(Buffer.alloc(8), Buffer.alloc(8), 300000, 32, 'sha256', () => {});
      logger.info('first');
      setImmediate(() => {
        logger.info('second');
        logger.fatal('third');
        throw new Error('boom');
      });
    `, { UV_THREADPOOL_SIZE: '1' });
    expect(code).toBe(1);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['first', 'second', 'third']);
  });

  it('when the reader of standard output goes away, then the service goes on without its log', async () => {
    const child = spawn(process.execPath, ['-e', `${PRELUDE}
      const logger = createLogger('info', batchedStdout());
      logger.info('one');
      process.stdin.once('data', () => {
        logger.info('two');
        setImmediate(() => { logger.info('three'); setImmediate(() => process.exit(4)); });
      });
    `], { stdio: ['pipe', 'pipe', 'ignore'] });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(String(d))));
    child.stdout.destroy(); // the read end closed: the child's next write fails with EPIPE
    child.stdin.write('go\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect((JSON.parse(first) as { msg: string }).msg).toBe('one');
    expect(code).toBe(4);
  });
});
