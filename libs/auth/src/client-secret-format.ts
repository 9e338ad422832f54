import { hash } from 'node:crypto';
import { randomBase62 } from '@cap/contracts';

/** Length of an OAuth client secret: 43 base62 characters, about 256 bits. */
const CLIENT_SECRET_LENGTH = 43;

/** A new OAuth client secret: 43 random base62 characters (≈ 256 bits), no prefix. */
export function generateClientSecret(): string {
  return randomBase62(CLIENT_SECRET_LENGTH);
}

/**
 * What is stored and compared: SHA-256 of the secret, hex. A secret this random needs no slow
 * hash; the auth-server compares the hash of the presented secret with the stored one.
 */
export function hashClientSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}
