import type { Knex } from 'knex';
import { requireAddressHash, type MigrationContext } from './context';

const NAME = '20261130050000_hashed_addresses';
/** What erasure writes over an address (src/privacy/erase.ts): no address to recover in down. */
const ERASED_EMAIL = 'erased@erased.invalid';
const CHUNK = 250;

/**
 * Opt-outs and unsubscribe links keep a keyed hash of the address (PRIVACY_KEY, src/shared/address-hash.ts),
 * not the address: an opt-out then survives the customer's erasure, and neither table holds an
 * address. An unsubscribe link also names the survey whose email carried it (its page shows that
 * survey's masked address while there is one); links issued before this migration name none.
 * Rating-link events get an index by age, for RETENTION_DAYS.
 */
export async function up(knex: Knex, context: MigrationContext): Promise<void> {
  await knex.schema.renameTable('opt_outs', 'opt_outs_plain');
  await knex.schema.renameTable('unsubscribe_tokens', 'unsubscribe_tokens_plain');
  await knex.schema.createTable('opt_outs', (t) => {
    t.string('email_hash', 64).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['email_hash'], 'opt_outs_hash_pkey'); // opt_outs_pkey is still the renamed old table's (PostgreSQL)
  });
  await knex.schema.createTable('unsubscribe_tokens', (t) => {
    t.string('token_hash', 64).notNullable();
    t.string('email_hash', 64).notNullable();
    t.string('survey_id', 36).references('surveys.id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.primary(['token_hash'], 'unsubscribe_tokens_hash_pkey');
    t.index(['email_hash']);
    t.index(['created_at']);
  });
  const stored = 'SELECT email FROM opt_outs_plain UNION SELECT email FROM unsubscribe_tokens_plain';
  if (await fillAddressHashes(knex, context, stored)) {
    await knex.raw(
      `INSERT INTO opt_outs (email_hash, created_at)
       SELECT m.email_hash, MIN(o.created_at) FROM opt_outs_plain o JOIN address_hashes m ON m.email = o.email GROUP BY m.email_hash`,
    );
    await knex.raw(
      `INSERT INTO unsubscribe_tokens (token_hash, email_hash, survey_id, created_at)
       SELECT u.token_hash, m.email_hash, NULL, u.created_at FROM unsubscribe_tokens_plain u JOIN address_hashes m ON m.email = u.email`,
    );
  }
  await knex.schema.dropTable('address_hashes');
  await knex.schema.dropTable('unsubscribe_tokens_plain');
  await knex.schema.dropTable('opt_outs_plain');
  // RETENTION_DAYS deletes rating-link events by age.
  await knex.schema.alterTable('link_events', (t) => t.index(['created_at'], 'link_events_created_at'));
}

/**
 * Back to addresses where they are still known: an opt-out or link whose hash matches a customer
 * address in `surveys` gets that address back. Those of erased customers cannot be turned back and
 * are dropped, as erasure dropped them before this migration.
 */
export async function down(knex: Knex, context: MigrationContext): Promise<void> {
  await knex.schema.alterTable('link_events', (t) => t.dropIndex(['created_at'], 'link_events_created_at'));
  await knex.schema.renameTable('opt_outs', 'opt_outs_hashed');
  await knex.schema.renameTable('unsubscribe_tokens', 'unsubscribe_tokens_hashed');
  await knex.schema.createTable('opt_outs', (t) => {
    t.string('email', 320).primary(); // lowercased
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('unsubscribe_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('email', 320).notNullable(); // lowercased
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  const held = await knex.raw('SELECT 1 FROM opt_outs_hashed UNION ALL SELECT 1 FROM unsubscribe_tokens_hashed').then(rowsOf);
  const known = `SELECT DISTINCT lower(customer_email) AS email FROM surveys WHERE customer_email <> '${ERASED_EMAIL}'`;
  if (held.length && (await fillAddressHashes(knex, context, known))) {
    const byHash = 'SELECT email_hash, MIN(email) AS email FROM address_hashes GROUP BY email_hash';
    await knex.raw(`INSERT INTO opt_outs (email, created_at) SELECT m.email, h.created_at FROM opt_outs_hashed h JOIN (${byHash}) m ON m.email_hash = h.email_hash`);
    await knex.raw(
      `INSERT INTO unsubscribe_tokens (token_hash, email, created_at)
       SELECT h.token_hash, m.email, h.created_at FROM unsubscribe_tokens_hashed h JOIN (${byHash}) m ON m.email_hash = h.email_hash`,
    );
  }
  await knex.schema.dropTableIfExists('address_hashes');
  await knex.schema.dropTable('unsubscribe_tokens_hashed');
  await knex.schema.dropTable('opt_outs_hashed');
}

const rowsOf = (result: unknown): Array<Record<string, unknown>> => (Array.isArray(result) ? result : (result as { rows: Array<Record<string, unknown>> }).rows);

/**
 * A table `address_hashes` (email, email_hash) for the addresses `emails` (a query with one column,
 * `email`), filled in chunks by key order. Answers whether there was any: only then is the key needed.
 */
async function fillAddressHashes(knex: Knex, context: MigrationContext, emails: string): Promise<boolean> {
  await knex.schema.createTable('address_hashes', (t) => {
    t.string('email', 320).primary();
    t.string('email_hash', 64).notNullable();
  });
  let after = '';
  let any = false;
  for (;;) {
    const rows = rowsOf(await knex.raw(`SELECT email FROM (${emails}) a WHERE email > ? ORDER BY email LIMIT ${CHUNK}`, [after]));
    if (rows.length === 0) return any;
    const hash = requireAddressHash(context, NAME);
    any = true;
    await knex('address_hashes').insert(rows.map((r) => ({ email: r.email, email_hash: hash(String(r.email)) })));
    after = String(rows[rows.length - 1].email);
  }
}
