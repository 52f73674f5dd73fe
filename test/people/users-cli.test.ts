import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dropDatabase, freshDatabaseEnv } from '../helpers/database';

const CLI = path.join(__dirname, '../../dist/src/users-cli.js');
const run = promisify(execFile);

/** `npm run users` as an operator runs it: the compiled CLI (npm test builds dist/ first) on a fresh database. */
describe('npm run users (the compiled CLI)', () => {
  let dir: string;
  let env: Record<string, string>;
  const users = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, NODE_ENV: 'test', LOCAL_CREDENTIALS_FILE: path.join(dir, 'credentials.json'), ...env } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-users-cli-'));
    env = freshDatabaseEnv(dir);
  });
  afterAll(async () => {
    await dropDatabase(env);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the first admin and a lead are added, changed, listed and removed, then each step says what it did; mistakes exit 1 naming the field', async () => {
    expect(await users('add', '--email', 'Root@Support.Example', '--name', 'Root', '--role', 'admin')).toEqual({ code: 0, stdout: 'root@support.example\tRoot\tadmin\n', stderr: '' });
    expect((await users('add', '--email', 'lena@support.example', '--name', 'Lena', '--role', 'lead', '--teams', 'billing, returns')).stdout).toBe('lena@support.example\tLena\tlead\tteams=billing,returns\n');
    const missing = await users('add', '--email', 'x@support.example', '--name', 'X', '--role', 'lead');
    expect([missing.code, missing.stderr]).toEqual([1, 'teams: a lead needs at least one team\n']);
    const twice = await users('add', '--email', 'root@support.example', '--name', 'Again', '--role', 'admin');
    expect([twice.code, twice.stderr]).toEqual([1, 'A user with the email root@support.example exists.\n']);
    expect((await users('change', '--email', 'lena@support.example', '--role', 'agent', '--agent-id', 'a-7')).stdout).toBe('lena@support.example\tLena\tagent\tagent_id=a-7\n');
    expect((await users('remove', '--email', 'lena@support.example')).stdout).toBe('removed lena@support.example\n');
    expect((await users('list')).stdout).toBe('root@support.example\tRoot\tadmin\n');
    const usage = await users('frobnicate');
    expect([usage.code, usage.stderr.split('\n')[0]]).toEqual([1, 'npm run users -- <command>']);
  });
});
