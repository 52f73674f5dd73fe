import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Credentials made for this install: an install nobody configured (`npm start` outside
 * production) still serves, but with secrets nobody else knows. They are generated at first start
 * into LOCAL_CREDENTIALS_FILE (default ./data/credentials.json), readable by its owner only, and
 * read from there on later starts. Production never uses them: it requires every secret explicitly.
 */
export type LocalCredentials = Readonly<{ webhookSecret: string; reportsToken: string; adminToken: string }>;

/** The strings earlier versions printed in the README as development credentials: refused everywhere. */
export const PUBLISHED_EXAMPLES: readonly string[] = [
  'closeloop-dev-secret-do-not-use-in-production',
  'closeloop-dev-reports-token-do-not-use-in-production',
  'closeloop-dev-admin-token-do-not-use-in-production',
];

const fresh = () => crypto.randomBytes(32).toString('base64url');

/** Random credentials for this process only (tests, and loadConfig without a file). */
export const ephemeralCredentials = (): LocalCredentials => ({ webhookSecret: fresh(), reportsToken: fresh(), adminToken: fresh() });

type Stored = { webhook_secret: string; reports_token: string; admin_token: string };

const valid = (s: Partial<Stored>): s is Stored =>
  [s.webhook_secret, s.reports_token, s.admin_token].every((v) => typeof v === 'string' && v.length >= 32 && !PUBLISHED_EXAMPLES.includes(v));

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
    const stored: Stored = { webhook_secret: fresh(), reports_token: fresh(), admin_token: fresh() };
    fs.writeFileSync(where, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const stored = JSON.parse(fs.readFileSync(where, 'utf8')) as Partial<Stored>;
  if (!valid(stored)) throw new Error(`${where} does not hold this install's credentials (webhook_secret, reports_token, admin_token of 32+ characters): remove it to have new ones made`);
  if ((fs.statSync(where).mode & 0o077) !== 0) fs.chmodSync(where, 0o600); // someone widened it: owner only again
  return { credentials: { webhookSecret: stored.webhook_secret, reportsToken: stored.reports_token, adminToken: stored.admin_token }, created, file: where };
}
