import { seal, unseal } from './key-seal';

const SECRET = 'a-secret-that-is-long-enough-for-the-test';

describe('seal / unseal', () => {
  it('round-trips a JSON value and hides it', () => {
    const jwk = { kty: 'EC', crv: 'P-256', d: 'private-part', x: 'x', y: 'y' };
    const sealed = seal(jwk, SECRET);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('private-part');
    expect(unseal(sealed, SECRET)).toEqual(jwk);
  });

  it('uses a fresh IV each time', () => {
    expect(seal({ a: 1 }, SECRET)).not.toBe(seal({ a: 1 }, SECRET));
  });

  it('refuses another secret and altered text', () => {
    const sealed = seal({ a: 1 }, SECRET);
    expect(() => unseal(sealed, `${SECRET}-other`)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('{"a":2}').toString('base64url');
    expect(() => unseal(parts.join('.'), SECRET)).toThrow();
    expect(() => unseal('plain text', SECRET)).toThrow(/not a sealed value/);
  });
});
