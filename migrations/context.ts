import type { AddressHash } from '../src/shared/address-hash';

/**
 * What a migration may need from the configuration. `addressHash` (PRIVACY_KEY's keyed hash) turns
 * stored addresses into what is kept of them; a migration that finds addresses to turn and no
 * `addressHash` stops rather than guess a key.
 */
export type MigrationContext = { addressHash?: AddressHash };

export function requireAddressHash(context: MigrationContext, migration: string): AddressHash {
  if (context.addressHash) return context.addressHash;
  throw new Error(`migration ${migration} turns stored addresses into keyed hashes and needs PRIVACY_KEY: run it through npm start or npm run migrate`);
}
