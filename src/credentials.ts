import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Credentials made for this install: an install nobody configured (`npm start` outside
 * production) still serves, but with secrets nobody else knows. They are generated at first start
 * into LOCAL_CREDENTIALS_FILE (default ./data/credentials.json), readable by its owner only, and
 * read from there on later starts. Production never uses them: it requires every secret explicitly.
 */
export type LocalCredentials = Readonly<{ webhookSecret: string; reportsToken: string; adminToken: string; privacyKey: string }>;

/** The strings earlier versions printed in the README as development credentials: refused everywhere. */
export const PUBLISHED_EXAMPLES: readonly string[] = [
  'closeloop-dev-secret-do-not-use-in-production',
  'closeloop-dev-reports-token-do-not-use-in-production',
  'closeloop-dev-admin-token-do-not-use-in-production',
];

const fresh = () => crypto.randomBytes(32).toString('base64url');

/** Random credentials for this process only (tests, and loadConfig without a file). */
export const ephemeralCredentials = (): LocalCredentials => ({ webhookSecret: fresh(), reportsToken: fresh(), adminToken: fresh(), privacyKey: fresh() });

/** privacy_key came later: a file written before it lacks it, and gets one added (addPrivacyKey). */
type Stored = { webhook_secret: string; reports_token: string; admin_token: string; privacy_key?: string };

const good = (v: unknown) => typeof v === 'string' && v.length >= 32 && !PUBLISHED_EXAMPLES.includes(v);
const valid = (s: Partial<Stored>): s is Stored =>
  [s.webhook_secret, s.reports_token, s.admin_token].every(good) && (s.privacy_key === undefined || good(s.privacy_key));

/**
 * Reads the install's credentials from `file`, creating it (mode 0600, exclusively, so two
 * processes starting together agree) when it does not exist. `created` tells the caller to
 * announce where they are. A file that is not ours to read, or holds something else, stops the start.
 */
export function loadOrCreateCredentials(file: string): { credentials: LocalCredentials; created: boolean; file: string } {
  const where = path.resolve(file);
  fs.mkdirSync(path.dirname(where), { recursive: true, mode: 0o700 });
  let created = false;
  try {
    const stored: Stored = { webhook_secret: fresh(), reports_token: fresh(), admin_token: fresh(), privacy_key: fresh() };
    fs.writeFileSync(where, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const read = () => {
    const stored = JSON.parse(fs.readFileSync(where, 'utf8')) as Partial<Stored>;
    if (!valid(stored)) throw new Error(`${where} does not hold this install's credentials (webhook_secret, reports_token, admin_token, privacy_key of 32+ characters): remove it to have new ones made`);
    return stored;
  };
  let stored = read();
  if ((fs.statSync(where).mode & 0o077) !== 0) fs.chmodSync(where, 0o600); // someone widened it: owner only again
  if (stored.privacy_key === undefined) stored = addPrivacyKey(where, read);
  const credentials = { webhookSecret: stored.webhook_secret, reportsToken: stored.reports_token, adminToken: stored.admin_token, privacyKey: stored.privacy_key as string };
  return { credentials, created, file: where };
}

const LOCK_WAIT_MS = 10_000;

/**
 * Adds privacy_key to a file written before it existed, keeping the other values. Two processes
 * starting together must end with the same key (opt-outs are stored under it), so one at a time
 * holds `<file>.lock` (created exclusively), reads the file again, and adds the key only if the
 * other has not; the file is replaced by a rename, so no reader sees half of it.
 */
function addPrivacyKey(where: string, read: () => Stored): Stored {
  const lock = `${where}.lock`;
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { mode: 0o600, flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > until) throw new Error(`${lock} exists: another start is adding privacy_key to ${where}; if none is, remove the lock file`, { cause: err });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    const stored = read();
    if (stored.privacy_key !== undefined) return stored;
    const upgraded: Stored = { ...stored, privacy_key: fresh() };
    const tmp = `${where}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(upgraded, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, where);
    return upgraded;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
