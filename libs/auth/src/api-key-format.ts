import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { BASE62, randomBase62 } from '@cap/contracts';

export const API_KEY_PREFIX = 'sk_live_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function checksumOf(random: string): string {
  let n = crc32(`${API_KEY_PREFIX}${random}`);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A new secret: `sk_live_` + 32 random base62 characters (190 bits) + a 6-character CRC32. */
export function generateApiKey(): string {
  const random = randomBase62(RANDOM_LENGTH);
  return `${API_KEY_PREFIX}${random}${checksumOf(random)}`;
}

/**
 * Whether `token` has the shape and checksum of a key we issued. A typo or a forged key fails
 * here, before any cache or lookup.
 */
export function isWellFormedApiKey(token: string): boolean {
  if (!SHAPE.test(token)) return false;
  const body = token.slice(API_KEY_PREFIX.length);
  return checksumOf(body.slice(0, RANDOM_LENGTH)) === body.slice(RANDOM_LENGTH);
}

/** What is stored and looked up: SHA-256 of the whole secret, hex. */
export function hashApiKey(secret: string): string {
  // One-shot hash: a quarter of createHash's cost, on every request's path.
  return hash('sha256', secret, 'hex');
}

/**
 * A new secret with what is stored of it (its hash and last four characters): the secret itself
 * is only ever shown once, to its creator.
 */
export function newApiKey(): { secret: string; secret_hash: string; last4: string } {
  const secret = generateApiKey();
  return { secret, secret_hash: hashApiKey(secret), last4: lastFour(secret) };
}

/** The last four characters, kept to show `sk_live_…abcd` in lists. */
export function lastFour(secret: string): string {
  return secret.slice(-4);
}

export function redactApiKey(last4: string): string {
  return `${API_KEY_PREFIX}…${last4}`;
}
