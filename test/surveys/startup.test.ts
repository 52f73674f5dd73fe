import { spawn } from 'node:child_process';
import path from 'node:path';
import { tempDir, validWith } from './fixtures';

// Runs the compiled service (npm test builds dist/ first) as a real process.
const MAIN = path.join(__dirname, '../../dist/src/main.js');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      // A start-up that wrongly succeeds would listen forever: stop it so the assertion shows what happened.
      if (stdout.includes('Closeloop is listening')) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    // 'close', not 'exit': only then has all the output been read (at 'exit' the last lines can still be in the pipe).
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('start-up with an invalid survey definitions file (real process)', () => {
  const tmp = tempDir('closeloop-proc-surveys-');
  afterAll(() => tmp.cleanup());
  const env = (surveysFile: string) => ({ PORT: '0', DATABASE_URL: `sqlite:${path.join(tmp.dir, 'db.sqlite')}`, MAIL_DIR: path.join(tmp.dir, 'outbox'), SURVEYS_FILE: surveysFile });

  it('when a field is invalid, then the process exits 1 and stderr names file:line and the field', async () => {
    const file = tmp.write('surveys.yml', validWith({ 13: '        intro: ""', 31: '    accent_color: orange' }));
    const out = await run(env(file));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`Invalid survey definitions in ${file}:`);
    expect(out.stderr).toContain(`${file}:13: questions.0.locales.de.intro: must not be empty`);
    expect(out.stderr).toContain(`${file}:31: brands.acme.accent_color: must be a colour like #1f4fbf`);
    expect(out.stderr).not.toContain('    at '); // a message for the operator, not a stack trace
    expect(out.stdout).not.toContain('Closeloop is listening');
  });

  it('when the YAML is broken, then the process exits 1 naming the line', async () => {
    const file = tmp.write('broken.yml', 'default: handling\nquestions:\n  - id: handling\n    locales: en: x\n');
    const out = await run(env(file));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`${file}:4: Nested mappings are not allowed in compact mappings`);
  });

  it('when SURVEYS_FILE does not exist, then the process exits 1 saying it cannot read it', async () => {
    const file = path.join(tmp.dir, 'missing.yml');
    const out = await run(env(file));
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`Invalid survey definitions: cannot read ${file} (ENOENT)`);
  });
});
