import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The .eml files in MAIL_DIR (written by mailer.ts when SMTP_URL is unset) hold a customer's
 * address, name, subject and live rating and unsubscribe links, so erasure and RETENTION_DAYS remove
 * them. A file is named `<ms>-<Message-ID>.eml`, and a survey's Message-ID holds the survey id
 * (`<survey.<id>@host>`, surveys/service.ts): that id is how a survey's files are found.
 * MAIL_DIR is also swept after a switch to SMTP, for the files written before it.
 */
const SURVEY_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
/** Finished files, and the temporary ones a crash mid-write may have left. */
const MAIL_FILE = /\.eml(\.tmp)?$/;

async function mailFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((name) => MAIL_FILE.test(name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function remove(dir: string, names: string[]): Promise<number> {
  for (const name of names) await fs.rm(path.join(dir, name), { force: true });
  return names.length;
}

/** Removes the mail files of these surveys; answers how many. */
export async function removeMailOf(dir: string, surveyIds: readonly string[]): Promise<number> {
  if (surveyIds.length === 0) return 0;
  const ids = new Set(surveyIds);
  return remove(dir, (await mailFiles(dir)).filter((name) => ids.has(SURVEY_ID.exec(name)?.[0] ?? '')));
}

/** Removes the mail files last written before `cutoff`; answers how many. */
export async function removeMailBefore(dir: string, cutoff: Date): Promise<number> {
  const old: string[] = [];
  for (const name of await mailFiles(dir)) {
    const stat = await fs.stat(path.join(dir, name)).catch(() => undefined); // gone meanwhile
    if (stat && stat.mtimeMs < cutoff.getTime()) old.push(name);
  }
  return remove(dir, old);
}
