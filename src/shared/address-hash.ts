import crypto from 'node:crypto';

/**
 * What Closeloop keeps of an address it must remember without holding it (opt-outs, unsubscribe
 * links): HMAC-SHA256 (hex) of the lowercased address under PRIVACY_KEY. Without the key nobody can
 * tell whose a stored hash is, not even by hashing a list of guessed addresses; with the key it
 * answers only "is this address the one?". A new key makes every stored hash unrecognisable
 * (README "Operators' API and privacy": rotating PRIVACY_KEY).
 */
export type AddressHash = (email: string) => string;

export function addressHasher(key: string): AddressHash {
  return (email) => crypto.createHmac('sha256', key).update(email.trim().toLowerCase()).digest('hex');
}
