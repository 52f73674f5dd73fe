import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { loadOrCreateCredentials } from './credentials';
import { addressHasher } from './shared/address-hash';
import { createDb, withStartupLock } from './shared/db';
import { AppError } from './shared/errors';
import { systemClock } from './shared/clock';
import { migrateLatest } from './schema';
import { createUserService } from './people/service';
import { newUser, userChange } from './people/users';

const USAGE = `npm run users -- <command>
  add --email <address> --name <name> --role admin|lead|agent [--teams billing,returns] [--agent-id <id>]
  list
  change --email <address> [--name …] [--role …] [--teams …] [--agent-id …]
  remove --email <address>`;

/** `npm run users`: the same users as /api/users, from the shell, so the first admin exists before anyone can sign in. */
async function run(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, teams: { type: 'string' }, 'agent-id': { type: 'string' } },
  });
  const command = positionals[0];
  if (!['add', 'list', 'change', 'remove'].includes(command ?? '')) throw new UsageError(USAGE);
  const config = loadConfig(process.env, (file) => loadOrCreateCredentials(file).credentials);
  const db = createDb(config.database);
  try {
    await withStartupLock(db, () => migrateLatest(db, { addressHash: addressHasher(config.privacyKey) }));
    const users = createUserService({ db, clock: systemClock });
    const by = { actor: 'cli' };
    const fields = {
      ...(values.email !== undefined && { email: values.email }),
      ...(values.name !== undefined && { name: values.name }),
      ...(values.role !== undefined && { role: values.role }),
      ...(values.teams !== undefined && { teams: values.teams.split(',').map((t) => t.trim()).filter(Boolean) }),
      ...(values['agent-id'] !== undefined && { agent_id: values['agent-id'] }),
    };
    const found = async () => {
      const user = values.email ? await users.byEmail(values.email) : undefined;
      if (!user) throw new UsageError(`no user with the email ${values.email ?? '(none given)'}`);
      return user;
    };
    if (command === 'list') for (const u of await users.list()) out(u);
    else if (command === 'add') out(await users.add(parsed(newUser, fields), by));
    else if (command === 'change') {
      const user = await found();
      const { email: _email, ...rest } = fields;
      out(await users.change(user.id, parsed(userChange, rest), by));
    } else {
      const user = await found();
      await users.remove(user.id, by);
      process.stdout.write(`removed ${user.email}\n`);
    }
  } finally {
    await db.destroy();
  }
}

class UsageError extends Error {}

function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new UsageError(result.error.issues.map((i) => `${i.path.map(String).join('.') || 'user'}: ${i.message}`).join('\n'));
}

const out = (u: { email: string; name: string; role: string; teams: string[]; agent_id: string | null }) =>
  process.stdout.write(`${u.email}\t${u.name}\t${u.role}${u.teams.length ? `\tteams=${u.teams.join(',')}` : ''}${u.agent_id ? `\tagent_id=${u.agent_id}` : ''}\n`);

run(process.argv.slice(2)).catch((err) => {
  const message = err instanceof UsageError || err instanceof ConfigError ? err.message : err instanceof AppError ? `${err.message}` : `users failed: ${err?.stack ?? err}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
