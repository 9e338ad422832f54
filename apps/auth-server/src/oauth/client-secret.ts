import { timingSafeEqual } from 'node:crypto';
import type { Client, Provider } from 'oidc-provider';
import { hashClientSecret } from '@cap/auth';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Whether `presented` is the secret whose SHA-256 (hex) is `storedHash`, in constant time.
 * Presenting the stored hash itself fails, as does anything when no hash is stored.
 */
export function verifyClientSecret(storedHash: string | undefined, presented: unknown): boolean {
  if (typeof storedHash !== 'string' || !SHA256_HEX.test(storedHash)) return false;
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const expected = Buffer.from(storedHash, 'hex');
  const actual = Buffer.from(hashClientSecret(presented), 'hex');
  return timingSafeEqual(expected, actual);
}

/**
 * Client secrets are never stored: the client adapter gives oidc-provider the SHA-256 of the
 * secret as `client_secret`, and this makes oidc-provider compare the hash of what a client
 * presents (from the Basic header or the form body alike, after oidc-provider's own parsing
 * and decoding) with it.
 *
 * Why not rewrite the request instead (hash the secret in the Basic header and the form body
 * before oidc-provider sees them)? That means parsing both the way oidc-provider does (RFC 6749
 * §2.3.1 form-encoding inside Basic, duplicate parameters) and feeding it an already-read body,
 * on every endpoint that authenticates clients (token, revocation, introspection, PAR). Replacing
 * the one comparison they all share covers every endpoint and every encoding at once.
 *
 * It replaces `Client#compareClientSecret`, which oidc-provider calls for client_secret_basic and
 * client_secret_post; it fails the start if that method is gone, and the end-to-end tests check
 * that a secret works, that the stored hash presented as a secret does not, and that a wrong
 * secret is `401 invalid_client`. Methods that would need the secret itself (client_secret_jwt,
 * symmetric encryption) are not enabled.
 */
export function useHashedClientSecrets(provider: Provider): void {
  const prototype = provider.Client.prototype;
  if (typeof prototype.compareClientSecret !== 'function') {
    throw new Error(
      'oidc-provider has no Client#compareClientSecret: client authentication changed',
    );
  }
  prototype.compareClientSecret = function compareHashedSecret(this: Client, actual: string) {
    return Promise.resolve(verifyClientSecret(this.clientSecret, actual));
  };
}
