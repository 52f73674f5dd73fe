import request from 'supertest';
import { migrationSourceWith } from '../../migrations';
import { hashToken, mintToken } from '../../src/surveys/tokens';
import { bootApp, ticketPayload, type TestApp } from '../helpers/boot';

const MIGRATION = '20261130050000_hashed_addresses';

describe('the migration to keyed hashes of addresses', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await bootApp();
  });
  afterEach(() => t.close());

  const withKey = () => migrationSourceWith({ addressHash: t.services.addressHash });

  it('when opt-outs and unsubscribe links were stored with addresses, then they are kept as keyed hashes, and the old links still work', async () => {
    await t.postWebhook(ticketPayload({ customer: { email: 'ann@example.com' } })).expect(202);
    await t.db.migrate.down({ migrationSource: withKey(), name: MIGRATION });
    const link = mintToken();
    await t.db('opt_outs').insert([
      { email: 'ann@example.com', created_at: new Date() },
      { email: 'gone@example.com', created_at: new Date() },
    ]);
    await t.db('unsubscribe_tokens').insert({ token_hash: hashToken(link), email: 'gone@example.com', created_at: new Date() });

    // Without the key it stops rather than store hashes under a key nobody keeps.
    await expect(t.db.migrate.latest({ migrationSource: migrationSourceWith({}) })).rejects.toThrow(/needs PRIVACY_KEY/);
    expect(await t.db('opt_outs').pluck('email')).toHaveLength(2); // rolled back: nothing lost

    await t.db.migrate.latest({ migrationSource: withKey() });
    const hash = t.services.addressHash;
    expect((await t.db('opt_outs').orderBy('email_hash').pluck('email_hash')).sort()).toEqual([hash('ann@example.com'), hash('gone@example.com')].sort());
    expect(await t.db('unsubscribe_tokens').select('email_hash', 'survey_id')).toEqual([{ email_hash: hash('gone@example.com'), survey_id: null }]);
    expect(JSON.stringify(await t.db('opt_outs').select('*'))).not.toContain('@');
    expect((await t.postWebhook(ticketPayload({ customer: { email: 'Ann@Example.com' } }))).body).toMatchObject({ reason: 'opted_out' });
    const page = await request(t.app).get(`/u/${link}`).expect(200);
    expect(page.text).toContain('this address');
    await request(t.app).post(`/u/${link}`).type('form').send('action=resubscribe').expect(303);
    expect(await t.db('opt_outs').pluck('email_hash')).toEqual([hash('ann@example.com')]);
  });

  it('when undone, then each opt-out whose address a survey still holds gets it back; those of erased customers cannot be', async () => {
    await t.postWebhook(ticketPayload({ customer: { email: 'Ann@Example.com' } })).expect(202);
    await t.db('opt_outs').insert([
      { email_hash: t.services.addressHash('ann@example.com'), created_at: new Date() },
      { email_hash: t.services.addressHash('erased@example.com'), created_at: new Date() },
    ]);
    await t.db.migrate.down({ migrationSource: withKey(), name: MIGRATION });
    expect(await t.db('opt_outs').pluck('email')).toEqual(['ann@example.com']);
    await t.db.migrate.latest({ migrationSource: withKey() });
    expect(await t.db('opt_outs').pluck('email_hash')).toEqual([t.services.addressHash('ann@example.com')]);
  });
});
