import { spawn } from 'node:child_process';
import path from 'node:path';

// The compiled logger (npm test builds it first), in a process of its own: what reaches its standard output.
const LOGGER = path.join(__dirname, '../../dist/src/shared/logger.js');

/** Runs `script` (with `createLogger` and `asyncStdout` in scope) and answers its output once the pipe is closed. */
function run(script: string): Promise<{ code: number | null; lines: string[] }> {
  const prelude = `const { createLogger, asyncStdout } = require(${JSON.stringify(LOGGER)});`;
  const child = spawn(process.execPath, ['-e', `${prelude}\n${script}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) })));
}

describe('the service log on standard output (asyncStdout)', () => {
  it('when many lines are logged at once and the process exits right after, then every line arrives, whole and in order', async () => {
    const { code, lines } = await run(`
      const logger = createLogger('info', asyncStdout());
      for (let i = 0; i < 5000; i++) logger.info({ i }, 'request');
      process.exit(3);
    `);
    expect(code).toBe(3);
    expect(lines).toHaveLength(5000);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it('when the process dies of an uncaught error, then the lines logged before it still arrive', async () => {
    const { code, lines } = await run(`
      const logger = createLogger('info', asyncStdout());
      logger.info('before');
      logger.fatal({ reason: 'test' }, 'about to fail');
      setImmediate(() => { throw new Error('boom'); });
    `);
    expect(code).toBe(1);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['before', 'about to fail']);
  });
});
