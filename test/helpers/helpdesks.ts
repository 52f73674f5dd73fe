import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Every helpdesk adapter switched on, with secrets long enough for each vendor's rules. */
export const HELPDESK_SECRETS = {
  ZENDESK_WEBHOOK_SECRET: 'zendesk-secret-0123',
  HELPSCOUT_WEBHOOK_SECRET: 'helpscout-secret-0123',
  FRESHDESK_WEBHOOK_TOKEN: 'freshdesk-token-0123456789',
  INTERCOM_CLIENT_SECRET: 'intercom-secret-0123',
};

/** A vendor's HMAC over `prefix` then `data`, as its signature header carries it. */
export const hmac = (alg: string, secret: string, data: Buffer | string, enc: 'hex' | 'base64', prefix = '') =>
  crypto.createHmac(alg, secret).update(prefix).update(data).digest(enc);

const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** A payload under test/fixtures/ (e.g. "zendesk/solved.json"), as text or parsed. */
export const fixtureText = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
export const fixtureJson = (name: string) => JSON.parse(fixtureText(name));
