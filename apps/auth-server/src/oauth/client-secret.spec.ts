import { generateClientSecret, hashClientSecret } from '@cap/auth';
import { verifyClientSecret } from './client-secret';

describe('verifyClientSecret', () => {
  const secret = generateClientSecret();
  const stored = hashClientSecret(secret);

  it('accepts the secret whose SHA-256 is stored', () => {
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(verifyClientSecret(stored, secret)).toBe(true);
  });

  it('refuses another secret, a near miss and an empty one', () => {
    expect(verifyClientSecret(stored, generateClientSecret())).toBe(false);
    expect(verifyClientSecret(stored, `${secret} `)).toBe(false);
    expect(verifyClientSecret(stored, secret.slice(0, -1))).toBe(false);
    expect(verifyClientSecret(stored, '')).toBe(false);
  });

  it('refuses the stored hash presented as the secret (a leaked database is not a key)', () => {
    expect(verifyClientSecret(stored, stored)).toBe(false);
  });

  it('refuses everything when no usable hash is stored', () => {
    expect(verifyClientSecret(undefined, secret)).toBe(false);
    expect(verifyClientSecret('', '')).toBe(false);
    expect(verifyClientSecret(secret, secret)).toBe(false);
    expect(verifyClientSecret(stored.toUpperCase(), secret)).toBe(false);
  });

  it('refuses values that are not strings', () => {
    expect(verifyClientSecret(stored, undefined)).toBe(false);
    expect(verifyClientSecret(stored, ['a'])).toBe(false);
    expect(verifyClientSecret(stored, 42)).toBe(false);
  });

  it('generates 43-character base62 secrets, different each time', () => {
    const a = generateClientSecret();
    expect(a).toMatch(/^[0-9A-Za-z]{43}$/);
    expect(generateClientSecret()).not.toBe(a);
  });
});
