import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type TestCertificate = { key: string; cert: string };

let made: TestCertificate | undefined;

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made once per test file with openssl (a
 * fresh key each run, nothing checked in). The test SMTP server offers STARTTLS with it, and the
 * client trusts exactly this certificate (`withTestCa`), so the suite runs the production default:
 * STARTTLS required and the server's certificate verified.
 */
export function testCertificate(): TestCertificate {
  if (made) return made;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=closeloop-test',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    made = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
    return made;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An smtp:// URL whose client trusts the test certificate only (nodemailer reads `tls.ca` from the query). */
export const withTestCa = (smtpUrl: string) => `${smtpUrl}/?tls.ca=${encodeURIComponent(testCertificate().cert)}`;
